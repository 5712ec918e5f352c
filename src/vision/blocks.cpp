#include "vision/blocks.h"

#include <ATen/ops/scaled_dot_product_attention.h>
#include <fmt/format.h>

#include "gemma/error.h"

namespace gemma::vision {
namespace {

// timm's has_skip rule, shared by all three block kinds.
bool has_skip(const MobileNetBlock& b) {
  return b.in_channels == b.out_channels && b.stride == 1 && !b.noskip;
}

void reject_squeeze_excite(const MobileNetBlock& b, std::string_view where) {
  // Gemma 3n's encoder has no SE; timm's SqueezeExcite is not implemented here.
  if (b.se_ratio > 0.0) {
    throw UnsupportedError(fmt::format(
        "{}: squeeze-excite (se{}) is not supported in the vision tower", where, b.se_ratio));
  }
}

}  // namespace

EdgeResidualImpl::EdgeResidualImpl(const MobileNetBlock& block, std::string_view where,
                                   const at::TensorOptions& options)
    : has_skip_(has_skip(block)) {
  reject_squeeze_excite(block, where);
  const int64_t mid = block.mid_channels;
  // timm computes the groups from conv_exp's output width; dense by default.
  const int64_t groups = num_groups(block.group_size.value_or(0), mid, where);
  if (block.in_channels % groups != 0) {
    throw ConfigError(fmt::format("{}: {} input channels do not split into {} groups", where,
                                  block.in_channels, groups));
  }
  conv_exp = register_module(
      "conv_exp",
      Conv2d(ConvSpec{block.in_channels, mid, block.exp_kernel_size, block.stride, groups},
             options));
  bn1 = register_module("bn1", RmsNorm2d(mid, /*apply_act=*/true, options));
  conv_pwl = register_module(
      "conv_pwl", Conv2d(ConvSpec{mid, block.out_channels, block.pw_kernel_size, 1, 1}, options));
  bn2 = register_module("bn2", RmsNorm2d(block.out_channels, /*apply_act=*/false, options));
}

at::Tensor EdgeResidualImpl::forward(const at::Tensor& x) {
  auto y = bn1->forward(conv_exp->forward(x));
  y = bn2->forward(conv_pwl->forward(y));
  return has_skip_ ? y + x : y;
}

UniversalInvertedResidualImpl::UniversalInvertedResidualImpl(const MobileNetBlock& block,
                                                             bool with_layer_scale,
                                                             std::string_view where,
                                                             const at::TensorOptions& options)
    : has_skip_(has_skip(block)) {
  reject_squeeze_excite(block, where);
  const int64_t in = block.in_channels;
  const int64_t mid = block.mid_channels;
  const int64_t out = block.out_channels;
  const int64_t a = block.dw_kernel_size_start;
  const int64_t k = block.dw_kernel_size_mid;
  const int64_t p = block.dw_kernel_size_end;
  const int64_t group_size = block.group_size.value_or(1);  // timm: depthwise by default
  // The stride goes to the first depthwise conv present, middle first (timm's rule).
  if (a > 0) {
    const int64_t stride = k > 0 ? 1 : block.stride;
    dw_start = register_module(
        "dw_start", ConvNormAct(ConvSpec{in, in, a, stride, num_groups(group_size, in, where)},
                                /*apply_act=*/false, options));
  }
  pw_exp =
      register_module("pw_exp", ConvNormAct(ConvSpec{in, mid, 1}, /*apply_act=*/true, options));
  if (k > 0) {
    dw_mid = register_module("dw_mid", ConvNormAct(ConvSpec{mid, mid, k, block.stride,
                                                            num_groups(group_size, mid, where)},
                                                   /*apply_act=*/true, options));
  }
  pw_proj =
      register_module("pw_proj", ConvNormAct(ConvSpec{mid, out, 1}, /*apply_act=*/false, options));
  if (p > 0) {
    const int64_t stride = a == 0 && k == 0 ? block.stride : 1;
    dw_end = register_module(
        "dw_end", ConvNormAct(ConvSpec{out, out, p, stride, num_groups(group_size, out, where)},
                              /*apply_act=*/false, options));
  }
  if (with_layer_scale) {
    layer_scale = register_module("layer_scale", LayerScale2d(out, options));
  }
}

at::Tensor UniversalInvertedResidualImpl::forward(const at::Tensor& x) {
  auto y = dw_start ? dw_start->forward(x) : x;
  y = pw_exp->forward(y);
  if (dw_mid) y = dw_mid->forward(y);
  y = pw_proj->forward(y);
  if (dw_end) y = dw_end->forward(y);
  if (layer_scale) y = layer_scale->forward(y);
  return has_skip_ ? y + x : y;
}

AttentionBranchImpl::AttentionBranchImpl(int64_t in_channels, int64_t out_channels,
                                         int64_t down_kernel, int64_t down_stride,
                                         const at::TensorOptions& options) {
  if (down_stride > 1) {
    down_conv = register_module(
        "down_conv",
        Conv2d(ConvSpec{in_channels, in_channels, down_kernel, down_stride, in_channels}, options));
    norm = register_module("norm", RmsNorm2d(in_channels, /*apply_act=*/false, options));
  }
  proj = register_module("proj", Conv2d(ConvSpec{in_channels, out_channels, 1}, options));
}

at::Tensor AttentionBranchImpl::forward(const at::Tensor& x) const {
  return proj->forward(down_conv ? norm->forward(down_conv->forward(x)) : x);
}

MultiQueryAttention2dImpl::MultiQueryAttention2dImpl(const MobileNetBlock& block,
                                                     const at::TensorOptions& options)
    : num_heads_(block.num_heads), key_dim_(block.key_dim) {
  const int64_t c = block.in_channels;
  const int64_t k = block.dw_kernel_size;
  const int64_t stride = block.kv_stride;
  query = register_module("query", AttentionBranch(c, num_heads_ * key_dim_, k, 1, options));
  key = register_module("key", AttentionBranch(c, key_dim_, k, stride, options));
  value = register_module("value", AttentionBranch(c, block.value_dim, k, stride, options));
  output = register_module(
      "output", AttentionBranch(num_heads_ * block.value_dim, block.out_channels, k, 1, options));
}

at::Tensor MultiQueryAttention2dImpl::forward(const at::Tensor& x) const {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  // Same reshapes (and .contiguous() points) as timm, so SDPA sees the same layouts:
  // q [B, heads, HW, key_dim]; k, v [B, 1, H'W', dim], the single head broadcast over queries.
  auto q = query->forward(x).reshape({b, num_heads_, key_dim_, -1}).transpose(-1, -2).contiguous();
  auto flatten = [](const at::Tensor& t) {
    return t.reshape({t.size(0), t.size(1), -1}).transpose(1, 2).unsqueeze(1).contiguous();
  };
  auto k = flatten(key->forward(x));
  auto v = flatten(value->forward(x));
  // scale key_dim^-0.5, as timm's. The single K/V head is declared as grouped-query attention:
  // broadcast over the query heads, SDPA falls back to its math path (3x slower at 48x48 on the
  // CPU); the results agree to float32 rounding.
  auto o = at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, std::nullopt,
                                            /*enable_gqa=*/true);
  const int64_t features = o.size(-1) * num_heads_;
  o = o.transpose(1, 2).reshape({b, h, w, features}).permute({0, 3, 1, 2}).contiguous();
  return output->forward(o);
}

MobileAttentionImpl::MobileAttentionImpl(const MobileNetBlock& block,
                                         const at::TensorOptions& options)
    : has_skip_(has_skip(block)) {
  norm = register_module("norm", RmsNorm2d(block.in_channels, /*apply_act=*/false, options));
  attn = register_module("attn", MultiQueryAttention2d(block, options));
  layer_scale = register_module("layer_scale", LayerScale2d(block.out_channels, options));
}

at::Tensor MobileAttentionImpl::forward(const at::Tensor& x) {
  auto y = layer_scale->forward(attn->forward(norm->forward(x)));
  return has_skip_ ? y + x : y;
}

std::shared_ptr<StageBlockImpl> make_stage_block(const MobileNetBlock& block,
                                                 std::string_view where,
                                                 const at::TensorOptions& options) {
  switch (block.kind) {
    case MobileNetBlockKind::kEdgeResidual:
      return std::make_shared<EdgeResidualImpl>(block, where, options);
    case MobileNetBlockKind::kUniversalInvertedResidual:
      return std::make_shared<UniversalInvertedResidualImpl>(block, /*layer_scale=*/true, where,
                                                             options);
    case MobileNetBlockKind::kMobileMQA:
      return std::make_shared<MobileAttentionImpl>(block, options);
  }
  throw InternalError(fmt::format("{}: unknown block kind", where));
}

}  // namespace gemma::vision
