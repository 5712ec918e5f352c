#include "model/loader.h"

#include <regex>

namespace gemma::model {

bool is_skipped_key(const ModelConfig& config, Towers towers, const std::string& name) {
  if (name == "lm_head.weight") return config.text.tie_word_embeddings;
  if (name.starts_with("model.vision_tower.")) return !towers.vision;
  if (name.starts_with("model.audio_tower.")) return !towers.audio;
  static const std::regex kv(
      R"(model\.language_model\.layers\.(\d+)\.self_attn\.(k_proj|v_proj|k_norm|v_norm)\.weight)");
  std::smatch m;
  if (std::regex_match(name, m, kv)) {
    const int layer = std::stoi(m[1].str());
    return layer < config.text.num_hidden_layers && config.text.kv_shared_layer_index(layer) >= 0;
  }
  return false;
}

LoadedModel load_model(const std::filesystem::path& dir, const at::TensorOptions& options,
                       Towers towers) {
  LoadedModel loaded;
  loaded.config = load_model_config(dir);
  const auto checkpoint = io::Checkpoint::open(dir);
  loaded.model = ForConditionalGeneration(loaded.config, options, towers);
  io::LoadOptions load;
  load.skip = [&](const std::string& name) { return is_skipped_key(loaded.config, towers, name); };
  loaded.report = io::load_weights(*loaded.model, checkpoint, load);
  loaded.model->eval();
  return loaded;
}

}  // namespace gemma::model
