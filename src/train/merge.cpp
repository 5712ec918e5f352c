#include "train/merge.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gemma/error.h"
#include "gemma/hub.h"
#include "gemma/train.h"
#include "io/checkpoint.h"
#include "io/tensor.h"
#include "model/loader.h"
#include "train/lora.h"
#include "util/files.h"
#include "util/torch_errors.h"

namespace gemma {
namespace train {

void copy_model_files(const std::filesystem::path& model_dir,
                      const std::filesystem::path& output_dir) {
  std::filesystem::create_directories(output_dir);
  for (const auto& entry : std::filesystem::directory_iterator(model_dir)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.ends_with(".safetensors") ||
        name == "model.safetensors.index.json" || name.starts_with("."))
      continue;
    std::filesystem::copy_file(entry.path(), output_dir / name,
                               std::filesystem::copy_options::overwrite_existing);
  }
}

void save_model_weights(torch::nn::Module& model, const std::filesystem::path& output_dir,
                        std::uint64_t max_shard_bytes) {
  std::vector<std::vector<std::pair<std::string, at::Tensor>>> shards(1);
  std::uint64_t shard_bytes = 0, total = 0;
  for (auto& item : model.named_parameters()) {
    const auto bytes = static_cast<std::uint64_t>(item.value().nbytes());
    if (shard_bytes > 0 && shard_bytes + bytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().emplace_back(item.key(), item.value());
    shard_bytes += bytes;
    total += bytes;
  }
  std::filesystem::create_directories(output_dir);
  if (shards.size() == 1) {
    io::save_tensors(output_dir / "model.safetensors", shards[0], {{"format", "pt"}});
    return;
  }
  nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", nlohmann::json::object()}};
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const auto file = fmt::format("model-{:05}-of-{:05}.safetensors", i + 1, shards.size());
    io::save_tensors(output_dir / file, shards[i], {{"format", "pt"}});
    for (const auto& [name, tensor] : shards[i]) index["weight_map"][name] = file;
  }
  util::write_file_atomically(output_dir / "model.safetensors.index.json", index.dump(2) + "\n");
}

}  // namespace train

void merge_adapter(const std::string& model, const std::filesystem::path& adapter_dir,
                   const std::filesystem::path& output_dir, const HubOptions& hub) {
  const auto model_dir = resolve_model(model, hub);
  // Merge in float32 and write in the checkpoint's own dtype, as merge_and_unload + save does.
  const auto checkpoint = io::Checkpoint::open(model_dir);
  auto stored = at::kFloat;
  for (const auto& [name, entry] : checkpoint.entries()) {
    stored = io::to_scalar_type(entry.info->dtype, checkpoint.source());
    break;
  }
  util::with_torch_errors(fmt::format("merging {} into {}", adapter_dir.string(), model_dir.string()), [&] {
    auto loaded = model::load_model(model_dir, at::TensorOptions().dtype(stored));
    train::load_adapter(*loaded.model, {}, adapter_dir);
    train::merge_lora(*loaded.model);
    train::copy_model_files(model_dir, output_dir);
    train::save_model_weights(*loaded.model, output_dir);
  });
}

int64_t count_lora_parameters(const ModelConfig& config, const LoraConfig& lora) {
  return train::count_lora_parameters(config, lora);
}

}  // namespace gemma
