#pragma once
// Reading transformers' reference outputs (tests/data/golden/*.safetensors) and comparing against them.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace gemma::model {
struct LoadedModel;
}

namespace gemma::test {

// models/tiny-gemma3n in float32 on the CPU, loaded once per test binary.
model::LoadedModel& tiny_model();

// All tensors of a golden file, copied out of the mapping.
std::map<std::string, at::Tensor> load_golden(const std::string& file_name);

// max |a − b| over all elements, in float64.
double max_abs_diff(const at::Tensor& a, const at::Tensor& b);

}  // namespace gemma::test
