#include "io/vision_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <system_error>

#include "gemma/error.h"
#include "io/json_fields.h"

namespace gemma::io {
namespace {

// A repeat count this large is a typo, and expanding it would exhaust memory.
constexpr int64_t kMaxRepeat = 1000;
// EfficientNetBuilder(output_stride=32): beyond it timm trades strides for dilation, which the
// MobileNetV5 blocks here do not implement.
constexpr int64_t kMaxOutputStride = 32;
// Channel counts and expansion ratios far beyond any MobileNet (2048 channels, ratio 6 in the
// 300M encoder), so that widths computed from them stay exact in a double and fit int64_t.
constexpr int64_t kMaxChannels = int64_t{1} << 20;
constexpr double kMaxExpansionRatio = 1024;
constexpr int64_t kMaxOutputResolution = 1024;

[[noreturn]] void fail_block(std::string_view where, std::string_view block,
                             std::string_view message) {
  throw ConfigError(fmt::format("{}: cannot decode block \"{}\": {}", where, block, message));
}

// The options of one block string, as timm collects them: "k3" -> {"k": "3"}, split before the
// first digit; "noskip"/"skip" and activation overrides ("n...") are handled separately.
struct BlockOptions {
  std::string type;
  std::map<std::string, std::string, std::less<>> values;
  bool noskip = false;
};

BlockOptions split_block_string(std::string_view block, std::string_view where) {
  BlockOptions out;
  size_t start = 0;
  bool first = true;
  while (start <= block.size()) {
    const size_t end = std::min(block.find('_', start), block.size());
    const std::string_view op = block.substr(start, end - start);
    start = end + 1;
    if (first) {
      out.type = std::string(op);
      first = false;
      continue;
    }
    if (op == "noskip") {
      out.noskip = true;
    } else if (op == "skip") {
      // timm: forces a skip only for "cn" blocks; er/uir/mqa ignore it.
    } else if (!op.empty() && op.front() == 'n') {
      static constexpr std::string_view kActs[] = {"re", "r6", "hs", "sw", "mi"};
      if (std::find(std::begin(kActs), std::end(kActs), op.substr(1)) != std::end(kActs)) {
        fail_block(where, block, fmt::format("activation override \"{}\" is not supported", op));
      }
      // timm skips activation names it does not know.
    } else {
      const size_t digit = op.find_first_of("0123456789");
      if (digit == std::string_view::npos) continue;  // timm: no digit, no option
      out.values[std::string(op.substr(0, digit))] = std::string(op.substr(digit));
    }
  }
  return out;
}

class BlockDecoder {
 public:
  BlockDecoder(std::string_view block, std::string_view where)
      : block_(block), where_(where), options_(split_block_string(block, where)) {}

  const BlockOptions& options() const { return options_; }

  bool has(std::string_view key) const { return options_.values.count(key) != 0; }

  int64_t integer(std::string_view key) const { return parse_int(key, required(key)); }
  int64_t integer_or(std::string_view key, int64_t fallback) const {
    return has(key) ? integer(key) : fallback;
  }

  double real(std::string_view key) const {
    const std::string& text = required(key);
    double value = 0.0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      fail(fmt::format("'{}' needs a number, got \"{}\"", key, text));
    }
    return value;
  }
  double real_or(std::string_view key, double fallback) const {
    return has(key) ? real(key) : fallback;
  }

  // timm's _parse_ksize: "5" -> 5, "3.5" -> [3, 5] (a mixed-kernel conv, which we do not build).
  int64_t kernel(std::string_view key) const {
    const std::string& text = required(key);
    if (text.find('.') != std::string::npos) {
      fail(fmt::format("mixed kernel sizes '{}{}' are not supported", key, text));
    }
    return parse_int(key, text);
  }
  int64_t kernel_or(std::string_view key, int64_t fallback) const {
    return has(key) ? kernel(key) : fallback;
  }

  [[noreturn]] void fail(std::string_view message) const { fail_block(where_, block_, message); }

 private:
  const std::string& required(std::string_view key) const {
    const auto it = options_.values.find(key);
    if (it == options_.values.end()) fail(fmt::format("missing option '{}'", key));
    return it->second;
  }

  int64_t parse_int(std::string_view key, const std::string& text) const {
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      fail(fmt::format("'{}' needs an integer, got \"{}\"", key, text));
    }
    return value;
  }

  std::string_view block_;
  std::string_view where_;
  BlockOptions options_;
};

int64_t round_channels(int64_t channels) { return make_divisible(static_cast<double>(channels)); }

// Feature maps timm's builder records: the stem if the first block strides, then the end of every
// stage followed by a strided stage, and the last stage.
int64_t count_features(const std::vector<std::vector<MobileNetBlock>>& stages) {
  int64_t count = stages.front().front().stride > 1 ? 1 : 0;
  for (size_t s = 0; s < stages.size(); ++s) {
    const bool last = s + 1 == stages.size();
    if (last || stages[s + 1].front().stride > 1) ++count;
  }
  return count;
}

class LayoutChecker {
 public:
  LayoutChecker(std::string_view source, std::string_view json_path)
      : source_(source), json_path_(json_path) {}

  [[noreturn]] void fail(std::string_view field, std::string_view message) const {
    fail_config(source_, join_path(json_path_, field), message);
  }

  template <typename T>
  void at_least(std::string_view field, std::string_view name, T value, T minimum) const {
    if (value < minimum) {
      fail(field, fmt::format("{} must be >= {}, got {}", name, minimum, value));
    }
  }

  void check_block(const MobileNetBlock& b, std::string_view field) const {
    if (b.stride != 1 && b.stride != 2) {
      fail(field, fmt::format("stride (s) must be 1 or 2, got {}", b.stride));
    }
    at_least<int64_t>(field, "out channels (c)", b.out_channels, 1);
    at_least<int64_t>(field, "in channels", b.in_channels, 1);
    at_least<double>(field, "se ratio (se)", b.se_ratio, 0.0);
    if (b.group_size) at_least<int64_t>(field, "group size (gs)", *b.group_size, 1);
    switch (b.kind) {
      case MobileNetBlockKind::kEdgeResidual:
        at_least<int64_t>(field, "kernel (k)", b.exp_kernel_size, 1);
        at_least<int64_t>(field, "pointwise kernel (p)", b.pw_kernel_size, 1);
        check_exp_ratio(b, field);
        break;
      case MobileNetBlockKind::kUniversalInvertedResidual:
        at_least<int64_t>(field, "start kernel (a)", b.dw_kernel_size_start, 0);
        at_least<int64_t>(field, "middle kernel (k)", b.dw_kernel_size_mid, 0);
        at_least<int64_t>(field, "end kernel (p)", b.dw_kernel_size_end, 0);
        check_exp_ratio(b, field);
        // timm asserts this: a strided uir needs a depthwise conv to carry the stride.
        if (b.stride > 1 && b.dw_kernel_size_start == 0 && b.dw_kernel_size_mid == 0 &&
            b.dw_kernel_size_end == 0) {
          fail(field, "a stride-2 uir block needs a depthwise kernel (a, k or p)");
        }
        break;
      case MobileNetBlockKind::kMobileMQA:
        at_least<int64_t>(field, "kernel (k)", b.dw_kernel_size, 1);
        at_least<int64_t>(field, "heads (h)", b.num_heads, 1);
        at_least<int64_t>(field, "key dim (d)", b.key_dim, 1);
        at_least<int64_t>(field, "value dim (d)", b.value_dim, 1);
        at_least<int64_t>(field, "kv stride (v)", b.kv_stride, 1);
        break;
    }
  }

 private:
  void check_exp_ratio(const MobileNetBlock& b, std::string_view field) const {
    if (!(b.exp_ratio > 0.0)) {
      fail(field, fmt::format("expansion ratio (e) must be > 0, got {}", b.exp_ratio));
    }
  }

  std::string_view source_;
  std::string_view json_path_;
};

std::string block_field(size_t stage, size_t string_index) {
  return fmt::format("arch_def[{}][{}]", stage, string_index);
}

void validate_layout(const MobileNetLayout& layout, std::string_view source,
                     std::string_view json_path) {
  const auto& [stages, stem_size, msfa_indices, msfa_output_resolution, msfa_expansion_ratio] =
      layout;
  const LayoutChecker check(source, json_path);
  if (stages.empty()) check.fail("arch_def", "needs at least one stage");
  check.at_least<int64_t>("stem_size", "stem_size", stem_size, 1);
  int64_t output_stride = 2;  // the stem
  for (size_t s = 0; s < stages.size(); ++s) {
    if (stages[s].empty()) check.fail(fmt::format("arch_def[{}]", s), "needs at least one block");
    // Name blocks by their string in arch_def: a string with repeat r made r consecutive blocks.
    size_t string_index = 0;
    int64_t copy = 0;
    for (const MobileNetBlock& block : stages[s]) {
      const std::string field = block_field(s, string_index);
      check.at_least<int64_t>(field, "repeat (r)", block.repeat, 1);
      check.check_block(block, field);
      output_stride *= block.stride;
      if (output_stride > kMaxOutputStride) {
        check.fail(field, fmt::format("total stride {} exceeds {} (timm would dilate instead)",
                                      output_stride, kMaxOutputStride));
      }
      if (++copy == block.repeat) {
        ++string_index;
        copy = 0;
      }
    }
  }
  if (msfa_indices.empty()) check.fail("msfa_indices", "needs at least one feature index");
  const int64_t features = count_features(stages);
  for (size_t i = 0; i < msfa_indices.size(); ++i) {
    const int64_t index = msfa_indices[i];
    if (index < -features || index >= features) {
      check.fail(index_path("msfa_indices", i),
                 fmt::format("feature index {} is outside [-{}, {})", index, features, features));
    }
  }
  // The fused feature map is resolution² × channels: 16 in the 300M encoder.
  if (msfa_output_resolution < 1 || msfa_output_resolution > kMaxOutputResolution) {
    check.fail("msfa_output_resolution", fmt::format("must be in [1, {}], got {}",
                                                     kMaxOutputResolution, msfa_output_resolution));
  }
  if (!(msfa_expansion_ratio > 0.0 && msfa_expansion_ratio <= kMaxExpansionRatio)) {
    check.fail("msfa_expansion_ratio",
               fmt::format("must be in (0, {}], got {}", kMaxExpansionRatio, msfa_expansion_ratio));
  }
}

const LayoutSpec& mobilenetv5_300m_spec() {
  // Transcribed from timm/models/mobilenetv5.py `_gen_mobilenet_v5` (the non-"base" arch_def) and
  // MobileNetV5Encoder's defaults (stem 64, msfa_indices (-2, -1), output resolution 16) and
  // MobileNetV5MultiScaleFusionAdapter's expansion_ratio 2.0.
  static const LayoutSpec spec = [] {
    LayoutSpec s;
    s.arch_def.push_back({"er_r1_k3_s2_e4_c128", "er_r1_k3_s1_e4_c128", "er_r1_k3_s1_e4_c128"});
    s.arch_def.push_back({"uir_r1_a3_k5_s2_e6_c256", "uir_r1_a5_k0_s1_e4_c256",
                          "uir_r1_a3_k0_s1_e4_c256", "uir_r1_a5_k0_s1_e4_c256",
                          "uir_r1_a3_k0_s1_e4_c256"});
    std::vector<std::string> stage2 = {"uir_r1_a5_k5_s2_e6_c640"};
    for (int i = 0; i < 7; ++i) stage2.emplace_back("uir_r1_a5_k0_s1_e4_c640");
    stage2.emplace_back("uir_r1_a0_k0_s1_e1_c640");
    for (int i = 0; i < 14; ++i) {
      stage2.emplace_back("mqa_r1_k3_h12_v2_s1_d64_c640");
      stage2.emplace_back("uir_r1_a0_k0_s1_e2_c640");
    }
    s.arch_def.push_back(std::move(stage2));
    std::vector<std::string> stage3 = {"uir_r1_a5_k5_s2_e6_c1280"};
    for (int i = 0; i < 19; ++i) {
      stage3.emplace_back("mqa_r1_k3_h16_s1_d96_c1280");
      stage3.emplace_back("uir_r1_a0_k0_s1_e2_c1280");
    }
    s.arch_def.push_back(std::move(stage3));
    return s;
  }();
  return spec;
}

}  // namespace

int64_t make_divisible(double value, int64_t divisor) {
  const int64_t rounded =
      static_cast<int64_t>(value + static_cast<double>(divisor) / 2.0) / divisor * divisor;
  int64_t result = std::max(divisor, rounded);
  if (static_cast<double>(result) < 0.9 * value) result += divisor;
  return result;
}

MobileNetBlock decode_block_string(std::string_view block, std::string_view where) {
  const BlockDecoder d(block, where);
  MobileNetBlock b;
  b.repeat = d.integer("r");
  b.out_channels = d.integer("c");
  b.stride = d.integer("s");
  b.noskip = d.options().noskip;
  if (d.has("gs")) b.group_size = d.integer("gs");
  const std::string& type = d.options().type;
  if (type == "er") {
    b.kind = MobileNetBlockKind::kEdgeResidual;
    b.exp_kernel_size = d.kernel("k");
    b.pw_kernel_size = d.kernel_or("p", 1);
    b.exp_ratio = d.real("e");
    b.force_in_channels = d.integer_or("fc", 0);
    b.se_ratio = d.real_or("se", 0.0);
  } else if (type == "uir") {
    b.kind = MobileNetBlockKind::kUniversalInvertedResidual;
    b.dw_kernel_size_start = d.kernel_or("a", 0);
    b.dw_kernel_size_mid = d.kernel("k");
    b.dw_kernel_size_end = d.kernel_or("p", 0);
    b.exp_ratio = d.real("e");
    b.se_ratio = d.real_or("se", 0.0);
  } else if (type == "mqa") {
    b.kind = MobileNetBlockKind::kMobileMQA;
    b.dw_kernel_size = d.kernel("k");
    b.num_heads = d.integer("h");
    b.key_dim = d.integer("d");
    b.value_dim = b.key_dim;
    b.kv_stride = d.integer_or("v", 1);
  } else {
    d.fail(fmt::format("block type \"{}\" is not supported (expected er, uir or mqa)", type));
  }
  return b;
}

MobileNetLayout build_mobilenet_layout(const LayoutSpec& spec, std::string_view source,
                                       std::string_view json_path) {
  if (spec.stem_size <= 0 || spec.stem_size > kMaxChannels) {
    fail_config(source, join_path(json_path, "stem_size"),
                fmt::format("must be in [1, {}], got {}", kMaxChannels, spec.stem_size));
  }
  MobileNetLayout layout;
  layout.stem_size = round_channels(spec.stem_size);
  layout.msfa_indices = spec.msfa_indices;
  layout.msfa_output_resolution = spec.msfa_output_resolution;
  layout.msfa_expansion_ratio = spec.msfa_expansion_ratio;
  int64_t in_channels = layout.stem_size;
  for (size_t s = 0; s < spec.arch_def.size(); ++s) {
    std::vector<MobileNetBlock>& stage = layout.stages.emplace_back();
    for (size_t j = 0; j < spec.arch_def[s].size(); ++j) {
      const std::string where =
          fmt::format("{}: {}", source, join_path(json_path, block_field(s, j)));
      MobileNetBlock block = decode_block_string(spec.arch_def[s][j], where);
      if (block.repeat < 1 || block.repeat > kMaxRepeat) {
        fail_block(where, spec.arch_def[s][j],
                   fmt::format("repeat (r) must be in [1, {}], got {}", kMaxRepeat, block.repeat));
      }
      if (block.out_channels < 1 || block.out_channels > kMaxChannels) {
        fail_block(where, spec.arch_def[s][j],
                   fmt::format("out channels (c) must be in [1, {}], got {}", kMaxChannels,
                               block.out_channels));
      }
      if (block.force_in_channels < 0 || block.force_in_channels > kMaxChannels) {
        fail_block(where, spec.arch_def[s][j],
                   fmt::format("forced in channels (fc) must be in [0, {}], got {}", kMaxChannels,
                               block.force_in_channels));
      }
      if (block.kind != MobileNetBlockKind::kMobileMQA &&
          !(block.exp_ratio > 0 && block.exp_ratio <= kMaxExpansionRatio)) {
        fail_block(where, spec.arch_def[s][j],
                   fmt::format("expansion ratio (e) must be in (0, {}], got {}", kMaxExpansionRatio,
                               block.exp_ratio));
      }
      block.out_channels = round_channels(block.out_channels);
      if (block.force_in_channels > 0) {
        block.force_in_channels = round_channels(block.force_in_channels);
      }
      for (int64_t r = 0; r < block.repeat; ++r) {
        MobileNetBlock placed = block;
        if (!stage.empty()) placed.stride = 1;  // timm: only a stage's first block strides
        placed.in_channels = in_channels;
        if (placed.kind != MobileNetBlockKind::kMobileMQA) {
          const int64_t base =
              placed.force_in_channels > 0 ? placed.force_in_channels : in_channels;
          placed.mid_channels = make_divisible(static_cast<double>(base) * placed.exp_ratio);
        }
        in_channels = placed.out_channels;
        stage.push_back(placed);
      }
    }
  }
  layout.validate(source, json_path);
  return layout;
}

}  // namespace gemma::io

namespace gemma {

MobileNetLayout MobileNetLayout::mobilenetv5_300m() {
  static const MobileNetLayout layout = io::build_mobilenet_layout(
      io::mobilenetv5_300m_spec(), "built-in layout", io::kMobileNetV5_300mEnc);
  return layout;
}

size_t MobileNetLayout::num_blocks() const {
  size_t n = 0;
  for (const auto& stage : stages) n += stage.size();
  return n;
}

void MobileNetLayout::validate(std::string_view source, std::string_view json_path) const {
  io::validate_layout(*this, source, json_path);
}

}  // namespace gemma
