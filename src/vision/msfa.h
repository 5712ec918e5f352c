#pragma once
// timm's MobileNetV5MultiScaleFusionAdapter: the encoder's neck that fuses feature maps of several
// resolutions into the R×R grid of soft tokens.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "vision/blocks.h"
#include "vision/layers.h"

namespace gemma::vision {

class MultiScaleFusionAdapterImpl : public torch::nn::Module {
 public:
  MultiScaleFusionAdapterImpl(int64_t in_channels, int64_t out_channels, int64_t output_resolution,
                              double expansion_ratio, const at::TensorOptions& options);
  // Nearest-upsamples every map to the first one's size, concatenates along channels, applies the
  // feed-forward, brings the grid to output_resolution (average pool when the size divides, else
  // bilinear) and normalises.
  at::Tensor forward(const std::vector<at::Tensor>& inputs);

  UniversalInvertedResidual ffn{nullptr};
  RmsNorm2d norm{nullptr};

 private:
  int64_t output_resolution_;
};
TORCH_MODULE(MultiScaleFusionAdapter);

}  // namespace gemma::vision
