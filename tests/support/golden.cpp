#include "support/golden.h"

#include <ATen/ATen.h>

#include "io/safetensors.h"
#include "io/tensor.h"
#include "model/loader.h"
#include "support/paths.h"

namespace gemma::test {

model::LoadedModel& tiny_model() {
  static auto loaded = model::load_model(tiny_model_dir(), at::TensorOptions().dtype(at::kFloat));
  return loaded;
}

std::map<std::string, at::Tensor> load_golden(const std::string& file_name) {
  auto file = io::SafetensorsFile::open(data_dir() / "golden" / file_name);
  std::map<std::string, at::Tensor> out;
  for (const auto& info : file.tensors()) out[info.name] = io::to_tensor(file, info).clone();
  return out;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace gemma::test
