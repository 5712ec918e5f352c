#include "support/golden.h"

#include <ATen/ATen.h>

#include <fstream>
#include <stdexcept>

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

std::filesystem::path repo_path(const std::string& relative) {
  return data_dir().parent_path().parent_path() / relative;
}

nlohmann::json with_absolute_paths(nlohmann::json json) {
  if (json.is_object() && json.contains("path"))
    json["path"] = repo_path(json["path"].get<std::string>()).string();
  if (json.is_array() || json.is_object())
    for (auto& child : json) child = with_absolute_paths(std::move(child));
  return json;
}

nlohmann::json manifest_entry(const std::string& file_name) {
  std::ifstream in(data_dir() / "golden" / "MANIFEST.json");
  const auto manifest = nlohmann::json::parse(in);
  for (const auto& entry : manifest.at("files")) {
    if (entry.at("file") == "tests/data/golden/" + file_name) return entry;
  }
  throw std::runtime_error("MANIFEST.json lists no " + file_name);
}

std::vector<Conversation> golden_conversations(const std::string& file_name) {
  const auto messages = manifest_entry(file_name).at("inputs").at("messages");
  return parse_conversations(with_absolute_paths(messages).dump());
}

GenerationConfig generation_config_from(const nlohmann::json& kwargs) {
  GenerationConfig c;
  if (kwargs.contains("do_sample")) c.do_sample = kwargs["do_sample"].get<bool>();
  if (kwargs.contains("temperature")) c.temperature = kwargs["temperature"].get<double>();
  if (kwargs.contains("top_k")) c.top_k = kwargs["top_k"].get<int64_t>();
  if (kwargs.contains("top_p")) c.top_p = kwargs["top_p"].get<double>();
  if (kwargs.contains("min_p")) c.min_p = kwargs["min_p"].get<double>();
  if (kwargs.contains("repetition_penalty")) {
    c.repetition_penalty = kwargs["repetition_penalty"].get<double>();
  }
  return c;
}

}  // namespace gemma::test
