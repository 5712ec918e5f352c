#include "gemma/model_info.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <span>

#include "io/checkpoint.h"

namespace gemma {
namespace {

struct Part {
  const char* name;
  const char* prefix;
};

// Prefixes of Gemma3nForConditionalGeneration's state dict; anything else lands in "other".
constexpr Part kParts[] = {
    {"text decoder", "model.language_model."}, {"vision tower", "model.vision_tower."},
    {"audio tower", "model.audio_tower."},     {"vision embedder", "model.embed_vision."},
    {"audio embedder", "model.embed_audio."},  {"lm head", "lm_head."},
};

std::string human_count(std::uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f}B", n / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1'000) return fmt::format("{:.1f}K", n / 1e3);
  return std::to_string(n);
}

std::string human_bytes(std::uint64_t n) {
  if (n >= (1ull << 30)) return fmt::format("{:.2f} GiB", n / double(1ull << 30));
  if (n >= (1ull << 20)) return fmt::format("{:.2f} MiB", n / double(1ull << 20));
  if (n >= (1ull << 10)) return fmt::format("{:.1f} KiB", n / double(1ull << 10));
  return fmt::format("{} B", n);
}

}  // namespace

ModelInfo inspect_model(const std::filesystem::path& model_dir) {
  ModelInfo info;
  info.directory = model_dir;
  info.config = load_model_config(model_dir);
  const auto ckpt = io::Checkpoint::open(model_dir);
  info.shards = ckpt.files().size();

  std::vector<ComponentInfo> parts(std::size(kParts) + 1);
  for (std::size_t i = 0; i < std::size(kParts); ++i) {
    parts[i].name = kParts[i].name;
    parts[i].prefix = kParts[i].prefix;
  }
  parts.back().name = "other";
  std::vector<std::set<std::string>> dtypes(parts.size());
  for (const auto& [name, entry] : ckpt.entries()) {
    std::size_t i = 0;
    while (i + 1 < parts.size() && !name.starts_with(parts[i].prefix)) ++i;
    parts[i].tensors += 1;
    parts[i].parameters += entry.info->numel();
    parts[i].bytes += entry.info->nbytes();
    dtypes[i].insert(std::string(io::dtype_name(entry.info->dtype)));
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].tensors == 0) continue;
    parts[i].dtypes.assign(dtypes[i].begin(), dtypes[i].end());
    info.total_parameters += parts[i].parameters;
    info.total_bytes += parts[i].bytes;
    info.components.push_back(std::move(parts[i]));
  }
  info.lm_head_stored = ckpt.find("lm_head.weight") != nullptr;
  return info;
}

std::string describe(const ModelInfo& info) {
  const auto& c = info.config;
  const auto& t = c.text;
  const auto full = std::count(t.layer_types.begin(), t.layer_types.end(), LayerType::kFullAttention);
  std::string out = fmt::format("model: {} ({})\n", info.directory.string(), c.model_type);
  out += fmt::format(
      "text: {} layers ({} sliding, {} full; last {} share KV), hidden {}, {} heads / {} KV heads "
      "x {}, vocab {}, sliding window {}, per-layer inputs {}, AltUp {} streams, LAuReL rank {}\n",
      t.num_hidden_layers, t.num_hidden_layers - full, full, t.num_kv_shared_layers, t.hidden_size,
      t.num_attention_heads, t.num_key_value_heads, t.head_dim, t.vocab_size, t.sliding_window,
      t.hidden_size_per_layer_input, t.altup_num_inputs, t.laurel_rank);
  if (c.has_vision) {
    std::size_t blocks = 0;
    for (const auto& stage : c.vision.layout.stages) blocks += stage.size();
    // A config may describe its own block layout (gemma_cpp_layout); say so rather than imply
    // the architecture's built-in one.
    const bool builtin = c.vision.layout == MobileNetLayout::mobilenetv5_300m();
    out += fmt::format("vision: {}{} ({} blocks in {} stages), hidden {}, {} tokens per image\n",
                       c.vision.architecture, builtin ? "" : ", custom layout", blocks,
                       c.vision.layout.stages.size(), c.vision.hidden_size,
                       c.vision_soft_tokens_per_image);
  }
  if (c.has_audio) {
    out += fmt::format("audio: {} conformer layers, hidden {}, {} tokens per clip\n",
                       c.audio.conf_num_hidden_layers, c.audio.hidden_size,
                       c.audio_soft_tokens_per_image);
  }
  out += fmt::format("checkpoint: {} file(s), {} parameters, {}{}\n", info.shards,
                     human_count(info.total_parameters), human_bytes(info.total_bytes),
                     info.lm_head_stored ? "" : " (lm_head tied to embed_tokens)");
  for (const auto& p : info.components) {
    out += fmt::format("  {:<16} {:>10} parameters {:>12}  {} tensors  {}\n", p.name,
                       human_count(p.parameters), human_bytes(p.bytes), p.tensors,
                       fmt::join(p.dtypes, ","));
  }
  return out;
}

namespace {

// IEEE formats by their bits: all-ones exponent is NaN (mantissa set) or infinity (mantissa zero).
template <class Bits>
void count_non_finite(std::span<const std::byte> bytes, Bits exponent, Bits mantissa,
                      NonFiniteTensor& out) {
  for (std::size_t i = 0; i + sizeof(Bits) <= bytes.size(); i += sizeof(Bits)) {
    Bits v;
    std::memcpy(&v, bytes.data() + i, sizeof(Bits));
    if ((v & exponent) != exponent) continue;
    ((v & mantissa) ? out.nan : out.inf) += 1;
  }
}

}  // namespace

std::vector<NonFiniteTensor> find_non_finite_weights(const std::filesystem::path& model_dir) {
  std::vector<NonFiniteTensor> found;
  const auto ckpt = io::Checkpoint::open(model_dir);
  for (const auto& [name, entry] : ckpt.entries()) {
    NonFiniteTensor t{name, 0, 0, entry.info->numel()};
    const auto bytes = entry.file->bytes(*entry.info);
    switch (entry.info->dtype) {
      case io::Dtype::kF16:
        count_non_finite<std::uint16_t>(bytes, 0x7C00, 0x03FF, t);
        break;
      case io::Dtype::kBF16:
        count_non_finite<std::uint16_t>(bytes, 0x7F80, 0x007F, t);
        break;
      case io::Dtype::kF32:
        count_non_finite<std::uint32_t>(bytes, 0x7F800000u, 0x007FFFFFu, t);
        break;
      case io::Dtype::kF64:
        count_non_finite<std::uint64_t>(bytes, 0x7FF0000000000000ull, 0x000FFFFFFFFFFFFFull, t);
        break;
      default:
        continue;
    }
    if (t.nan || t.inf) found.push_back(std::move(t));
  }
  return found;
}

}  // namespace gemma
