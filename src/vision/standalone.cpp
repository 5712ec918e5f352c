#include "vision/standalone.h"

#include <fmt/format.h>

#include "gemma/error.h"
#include "io/checkpoint.h"

namespace gemma::vision {

StandaloneTower load_standalone_tower(const std::filesystem::path& model_dir,
                                      const at::TensorOptions& options) {
  StandaloneTower out{load_model_config(model_dir), nullptr, {}};
  if (!out.config.has_vision) {
    throw ConfigError(fmt::format("{}: config.json has no vision_config", model_dir.string()));
  }
  out.tower = VisionTower(out.config.vision, options);
  out.report =
      io::load_weights_at(out.tower.ptr(), "model.vision_tower", io::Checkpoint::open(model_dir));
  return out;
}

}  // namespace gemma::vision
