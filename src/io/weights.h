#pragma once
// Fills a module tree from a checkpoint by name: named_parameters() are the Hugging Face keys, so
// loading is one pass that reports missing, unexpected and mis-shaped tensors by those names.
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/checkpoint.h"

namespace gemma::io {

// Parameters keep the dtype and device they were built with. On the CPU, a stored tensor of the
// same dtype becomes the parameter itself (a view on the mapped file; the unused at::empty
// allocation was never touched); anything else is copied into the parameter.
struct LoadOptions {
  // Checkpoint keys the model deliberately does not use (tied heads, dead K/V of shared layers,
  // towers the caller chose not to build): counted as skipped, never an error.
  std::function<bool(const std::string&)> skip;
};

struct LoadReport {
  std::size_t loaded = 0;
  std::size_t zero_copy = 0;  // parameters that view the mapped file directly
  std::vector<std::string> skipped;
};

// Matches every parameter of `root` with its checkpoint tensor by name and checks shape and dtype
// (floating point: F16, BF16, F32, F64). Reads and allocates nothing, so `root` may be built on the
// meta device: a config whose sizes do not fit the checkpoint then fails before any allocation.
// Throws one WeightError, on one line, listing every missing, unexpected, mis-shaped or
// non-floating-point tensor by HF name. Returns the bytes that loading into parameters of
// `target` (dtype and device) allocates: tensors not viewed zero-copy in the mapped file.
std::uint64_t check_weights(torch::nn::Module& root, const Checkpoint& checkpoint,
                            const LoadOptions& options, const at::TensorOptions& target);

// check_weights(), then fills the parameters. Parameters keep their requires_grad flags.
LoadReport load_weights(torch::nn::Module& root, const Checkpoint& checkpoint,
                        const LoadOptions& options);

// load_weights for one part of the model alone (a tower, for tests and check tools): `module` is
// loaded as if it sat at `path` (e.g. "model.vision_tower") in the full model; every checkpoint key
// outside that path counts as skipped.
LoadReport load_weights_at(const std::shared_ptr<torch::nn::Module>& module, std::string_view path,
                           const Checkpoint& checkpoint);

}  // namespace gemma::io
