#include "io/tensor.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <fmt/format.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "gemma/error.h"

namespace gemma::io {
namespace {

struct Mapping {
  Dtype dtype;
  c10::ScalarType type;
};

constexpr Mapping kMappings[] = {
    {Dtype::kBool, c10::ScalarType::Bool},
    {Dtype::kU8, c10::ScalarType::Byte},
    {Dtype::kI8, c10::ScalarType::Char},
    {Dtype::kF8_E5M2, c10::ScalarType::Float8_e5m2},
    {Dtype::kF8_E4M3, c10::ScalarType::Float8_e4m3fn},
    {Dtype::kF8_E8M0, c10::ScalarType::Float8_e8m0fnu},
    {Dtype::kF8_E4M3FNUZ, c10::ScalarType::Float8_e4m3fnuz},
    {Dtype::kF8_E5M2FNUZ, c10::ScalarType::Float8_e5m2fnuz},
    {Dtype::kI16, c10::ScalarType::Short},
    {Dtype::kU16, c10::ScalarType::UInt16},
    {Dtype::kF16, c10::ScalarType::Half},
    {Dtype::kBF16, c10::ScalarType::BFloat16},
    {Dtype::kI32, c10::ScalarType::Int},
    {Dtype::kU32, c10::ScalarType::UInt32},
    {Dtype::kF32, c10::ScalarType::Float},
    {Dtype::kC64, c10::ScalarType::ComplexFloat},
    {Dtype::kF64, c10::ScalarType::Double},
    {Dtype::kI64, c10::ScalarType::Long},
    {Dtype::kU64, c10::ScalarType::UInt64},
};

}  // namespace

c10::ScalarType to_scalar_type(Dtype dtype, const std::string& what) {
  for (const auto& m : kMappings) {
    if (m.dtype == dtype) return m.type;
  }
  throw UnsupportedError(
      fmt::format("{}: dtype {} has no LibTorch equivalent", what, dtype_name(dtype)));
}

Dtype to_dtype(c10::ScalarType type) {
  for (const auto& m : kMappings) {
    if (m.type == type) return m.dtype;
  }
  throw UnsupportedError(
      fmt::format("safetensors has no dtype for LibTorch's {}", c10::toString(type)));
}

at::Tensor to_tensor(const SafetensorsFile& file, const TensorInfo& info) {
  const auto type =
      to_scalar_type(info.dtype, fmt::format("{}: tensor '{}'", file.source(), info.name));
  const auto options = at::TensorOptions().dtype(type).device(at::kCPU);
  auto bytes = file.bytes(info);
  const auto element = c10::elementSize(type);
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % element != 0) {
    auto copy = at::empty(info.shape, options);
    std::memcpy(copy.data_ptr(), bytes.data(), bytes.size());
    return copy;
  }
  auto keep_alive = file.buffer();
  return at::from_blob(
      bytes.data(), info.shape, [keep_alive](void*) {}, options);
}

void evict_pages(const at::Tensor& tensor) {
#ifdef MADV_PAGEOUT
  if (!tensor.defined() || !tensor.device().is_cpu() || !tensor.is_contiguous()) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(tensor.const_data_ptr());
  const auto end = begin + tensor.nbytes();
  const auto first = (begin + page - 1) / page * page;  // whole pages only: neighbours keep theirs
  const auto last = end / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_PAGEOUT);
#endif
}

void save_tensors(const std::filesystem::path& path,
                  const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                  const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<at::Tensor> contiguous;
  std::vector<TensorToWrite> views;
  contiguous.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    contiguous.push_back(t.to(at::kCPU).contiguous());
    const auto& c = contiguous.back();
    views.push_back(
        TensorToWrite{name,
                      to_dtype(c.scalar_type()),
                      c.sizes().vec(),
                      {static_cast<const std::byte*>(c.data_ptr()), c.numel() * c.element_size()}});
  }
  write_safetensors(path, std::move(views), metadata);
}

}  // namespace gemma::io
