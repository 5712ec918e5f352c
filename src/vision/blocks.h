#pragma once
// The three MobileNetV5 block kinds of timm/models/_efficientnet_blocks.py (EdgeResidual,
// UniversalInvertedResidual, MobileAttention with timm/layers/attention2d.py's
// MultiQueryAttention2d), built from a decoded layout block with timm's parameter names.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string_view>

#include "gemma/config.h"
#include "vision/layers.h"

namespace gemma::vision {

// One entry of `blocks.S.J`: whatever its kind, it maps a feature map to the next.
class StageBlockImpl : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) = 0;
};

// "er" (fused inverted bottleneck): conv_exp k×k (strided) → bn1 (+GELU) → conv_pwl → bn2.
class EdgeResidualImpl : public StageBlockImpl {
 public:
  EdgeResidualImpl(const MobileNetBlock& block, std::string_view where,
                   const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) override;

  Conv2d conv_exp{nullptr}, conv_pwl{nullptr};
  RmsNorm2d bn1{nullptr}, bn2{nullptr};

 private:
  bool has_skip_;
};
TORCH_MODULE(EdgeResidual);

// "uir": [dw_start] → pw_exp (+GELU) → [dw_mid (+GELU)] → pw_proj → [dw_end] → [layer_scale].
// Absent depthwise convs register nothing, as timm's nn.Identity placeholders hold no weights.
// The MSFA's feed-forward is one of these without layer scale.
class UniversalInvertedResidualImpl : public StageBlockImpl {
 public:
  UniversalInvertedResidualImpl(const MobileNetBlock& block, bool with_layer_scale,
                                std::string_view where, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) override;

  ConvNormAct dw_start{nullptr}, pw_exp{nullptr}, dw_mid{nullptr}, pw_proj{nullptr},
      dw_end{nullptr};
  LayerScale2d layer_scale{nullptr};

 private:
  bool has_skip_;
};
TORCH_MODULE(UniversalInvertedResidual);

// One of MultiQueryAttention2d's query/key/value/output branches: an optional strided depthwise
// "down_conv" + "norm" (the K/V downsampling), then the 1×1 "proj".
class AttentionBranchImpl : public torch::nn::Module {
 public:
  AttentionBranchImpl(int64_t in_channels, int64_t out_channels, int64_t down_kernel,
                      int64_t down_stride, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

  Conv2d down_conv{nullptr}, proj{nullptr};
  RmsNorm2d norm{nullptr};
};
TORCH_MODULE(AttentionBranch);

// Multi-query attention over the pixels of a feature map: `num_heads` query heads share one key
// and one value head, computed on a grid downsampled by kv_stride. Channels are head-major.
class MultiQueryAttention2dImpl : public torch::nn::Module {
 public:
  MultiQueryAttention2dImpl(const MobileNetBlock& block, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

  AttentionBranch query{nullptr}, key{nullptr}, value{nullptr}, output{nullptr};

 private:
  int64_t num_heads_, key_dim_;
};
TORCH_MODULE(MultiQueryAttention2d);

// "mqa": norm → attn → layer_scale (+ x). The block stride only decides the residual: timm's
// MobileAttention has no query stride here.
class MobileAttentionImpl : public StageBlockImpl {
 public:
  MobileAttentionImpl(const MobileNetBlock& block, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) override;

  RmsNorm2d norm{nullptr};
  MultiQueryAttention2d attn{nullptr};
  LayerScale2d layer_scale{nullptr};

 private:
  bool has_skip_;
};
TORCH_MODULE(MobileAttention);

// The block a layout entry describes. `where` names it in errors (e.g. "blocks.2.3").
std::shared_ptr<StageBlockImpl> make_stage_block(const MobileNetBlock& block,
                                                 std::string_view where,
                                                 const at::TensorOptions& options);

}  // namespace gemma::vision
