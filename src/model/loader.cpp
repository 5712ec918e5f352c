#include "model/loader.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <regex>

#include "gemma/error.h"
#include "util/files.h"
#include "util/torch_errors.h"

namespace gemma::model {

namespace {

// Weights converted on load (another dtype than stored) live in memory; refuse up front what the
// machine cannot hold rather than let the kernel's OOM killer end the process midway.
void check_host_memory(std::uint64_t bytes, const at::TensorOptions& options,
                       const std::string& what) {
  if (!options.device().is_cpu()) return;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return;
  const auto total = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
  if (bytes > total) {
    throw ResourceError(fmt::format(
        "{}: the weights converted to {} need {}, more than this machine's {} of memory", what,
        c10::toString(c10::typeMetaToScalarType(options.dtype())), util::format_bytes(bytes),
        util::format_bytes(total)));
  }
}

}  // namespace

bool is_skipped_key(const ModelConfig& config, Towers towers, const std::string& name) {
  if (name == "lm_head.weight") return config.text.tie_word_embeddings;
  if (name.starts_with("model.vision_tower.")) return !towers.vision;
  if (name.starts_with("model.audio_tower.")) return !towers.audio;
  static const std::regex kv(
      R"(model\.language_model\.layers\.(\d+)\.self_attn\.(k_proj|v_proj|k_norm|v_norm)\.weight)");
  std::smatch m;
  if (!std::regex_match(name, m, kv)) return false;
  int64_t layer = -1;
  const auto digits = m[1].str();
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), layer);
  if (ec != std::errc() || layer >= config.text.num_hidden_layers) return false;
  return config.text.kv_shared_layer_index(static_cast<int>(layer)) >= 0;
}

LoadedModel load_model(const std::filesystem::path& dir, const at::TensorOptions& options,
                       Towers towers) {
  LoadedModel loaded;
  loaded.config = load_model_config(dir);
  const auto checkpoint = io::Checkpoint::open(dir);
  io::LoadOptions load;
  load.skip = [&](const std::string& name) { return is_skipped_key(loaded.config, towers, name); };
  const std::string what = fmt::format("loading {}", dir.string());

  // Shapes first, on the meta device: a config whose sizes do not fit the checkpoint fails here,
  // before anything is allocated for it.
  std::uint64_t bytes = 0;
  try {
    auto shapes = ForConditionalGeneration(loaded.config, options.device(at::kMeta), towers);
    bytes = io::check_weights(*shapes, checkpoint, load, options);
  } catch (const c10::Error& e) {
    std::string_view message = e.what_without_backtrace();
    throw ConfigError(
        fmt::format("{}: the sizes in config.json describe tensors LibTorch cannot "
                    "make: {}",
                    (dir / "config.json").string(), message.substr(0, message.find('\n'))));
  }
  check_host_memory(bytes, options, what);

  util::with_torch_errors(what, [&] {
    loaded.model = ForConditionalGeneration(loaded.config, options, towers);
    loaded.report = io::load_weights(*loaded.model, checkpoint, load);
    loaded.model->eval();
  });
  return loaded;
}

}  // namespace gemma::model
