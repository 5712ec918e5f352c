#pragma once
// MobileNetV5 layouts from timm block strings (timm/models/_efficientnet_builder.py,
// timm/models/mobilenetv5.py). The format is described in docs/vision-layout.md.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/config.h"

namespace gemma::io {

/// The timm architecture whose layout is built in.
inline constexpr std::string_view kMobileNetV5_300mEnc = "mobilenetv5_300m_enc";

/// timm's make_divisible(v, divisor=8): rounds to a multiple of 8, never more than 10 % down.
int64_t make_divisible(double value, int64_t divisor = 8);

/// Decodes one block string such as "mqa_r1_k3_h12_v2_s1_d64_c640" as timm's `_decode_block_str`
/// does. Only the syntax is checked here (MobileNetLayout::validate checks values); `where`
/// ("<file>: <json path>") prefixes error messages. Throws ConfigError.
MobileNetBlock decode_block_string(std::string_view block, std::string_view where);

/// The fields of `gemma_cpp_layout`, before decoding.
struct LayoutSpec {
  std::vector<std::vector<std::string>> arch_def;  ///< block strings per stage
  int64_t stem_size = 64;
  std::vector<int64_t> msfa_indices = {-2, -1};
  int64_t msfa_output_resolution = 16;
  double msfa_expansion_ratio = 2.0;
};

/// Decodes `spec` as timm's decode_arch_def + EfficientNetBuilder do (depth multiplier 1, channel
/// multiplier 1): repeats expanded, channels rounded, strides after a stage's first block set to 1,
/// in/mid channels filled. Errors name "<source>: <json_path>.arch_def[s][j]". Throws ConfigError.
MobileNetLayout build_mobilenet_layout(const LayoutSpec& spec, std::string_view source,
                                       std::string_view json_path);

}  // namespace gemma::io
