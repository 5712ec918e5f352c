#pragma once
// Bridges the torch-free safetensors layer and LibTorch: zero-copy tensor views on mapped files,
// and writing tensors back out.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"

namespace gemma::io {

// The LibTorch scalar type of a safetensors dtype; UnsupportedError for dtypes LibTorch lacks
// (F4, F6_*), naming `what` (the file and tensor).
c10::ScalarType to_scalar_type(Dtype dtype, const std::string& what);
Dtype to_dtype(c10::ScalarType type);

// A CPU tensor that views the mapped bytes (no copy) and keeps the mapping alive. Misaligned data
// (legal in the format, never written by Python) is copied instead, since kernels assume alignment.
at::Tensor to_tensor(const SafetensorsFile& file, const TensorInfo& info);

// Asks the kernel to evict the whole pages under a CPU tensor that is about to be dropped
// (madvise MADV_PAGEOUT): clean pages of a mapped checkpoint leave the resident set, which
// dropping the last view alone would not do while other tensors keep the file mapped. Never
// changes contents (anonymous memory without swap simply stays); a no-op elsewhere.
void evict_pages(const at::Tensor& tensor);

// Writes CPU or device tensors (copied to contiguous CPU memory first).
void save_tensors(const std::filesystem::path& path,
                  const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                  const std::vector<std::pair<std::string, std::string>>& metadata = {});

}  // namespace gemma::io
