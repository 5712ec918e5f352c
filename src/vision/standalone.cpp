#include "vision/standalone.h"

#include <fmt/format.h>

#include "gemma/error.h"
#include "io/checkpoint.h"

namespace gemma::vision {

TowerRootImpl::TowerRootImpl(const VisionConfig& config, const at::TensorOptions& options) {
  auto model = register_module("model", std::make_shared<torch::nn::Module>());
  tower_ = model->register_module("vision_tower", VisionTower(config, options));
}

StandaloneTower load_standalone_tower(const std::filesystem::path& model_dir,
                                      const at::TensorOptions& options) {
  StandaloneTower out{load_model_config(model_dir), nullptr, {}};
  if (!out.config.has_vision) {
    throw ConfigError(fmt::format("{}: config.json has no vision_config", model_dir.string()));
  }
  out.root = TowerRoot(out.config.vision, options);
  const auto checkpoint = io::Checkpoint::open(model_dir);
  out.report = io::load_weights(*out.root, checkpoint, {[](const std::string& key) {
    return !key.starts_with("model.vision_tower.");
  }});
  return out;
}

}  // namespace gemma::vision
