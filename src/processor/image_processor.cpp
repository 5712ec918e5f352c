// transformers 5.23's TorchvisionBackend._preprocess for SiglipImageProcessor: per image a uint8
// CHW tensor, torchvision's resize, then the fused rescale-and-normalise.
#include "gemma/image_processor.h"

#include <ATen/TensorOperators.h>
#include <ATen/Version.h>
#include <ATen/ops/_upsample_bicubic2d_aa.h>
#include <ATen/ops/_upsample_bilinear2d_aa.h>
#include <ATen/ops/_upsample_nearest_exact2d.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/round.h>
#include <ATen/ops/tensor.h>
#include <fmt/format.h>

#include "gemma/error.h"

namespace gemma {

namespace {

// PIL filter codes (transformers maps them to torchvision modes).
constexpr int64_t kNearest = 0, kBilinear = 2, kBicubic = 3;

// torchvision resizes uint8 natively on the CPU for bicubic always, for bilinear only where ATen
// has its AVX2/AVX512 uint8 kernel; otherwise in float32, rounded back. Both ways are followed
// here.
bool native_uint8_bilinear() {
  static const bool native = [] {
    const auto capability = at::get_cpu_capability();
    return capability == "AVX2" || capability == "AVX512";
  }();
  return native;
}

// [1, 3, H, W] uint8, contiguous, as transformers' process_image makes it.
at::Tensor to_tensor(const Image& image, size_t index) {
  if (image.width < 1 || image.height < 1 ||
      image.rgb.size() != static_cast<size_t>(image.width * image.height * 3)) {
    throw InvalidArgumentError(
        fmt::format("ImageProcessor::preprocess: image {} is {}x{} but holds {} bytes (need width "
                    "x height x 3)",
                    index, image.width, image.height, image.rgb.size()));
  }
  // from_blob only views the caller's pixels; contiguous() copies them (the permute is not
  // contiguous unless the image is 1x1, and nothing below writes in place).
  return at::from_blob(const_cast<uint8_t*>(image.rgb.data()), {image.height, image.width, 3},
                       at::kByte)
      .permute({2, 0, 1})
      .contiguous()
      .unsqueeze(0);
}

at::Tensor resize(const at::Tensor& image, const ImageProcessorConfig& config) {
  const std::vector<int64_t> size{config.size.height, config.size.width};
  if (image.size(2) == size[0] && image.size(3) == size[1]) return image;  // torchvision skips it
  switch (config.resample) {
    case kNearest:
      return at::_upsample_nearest_exact2d(image, size);
    case kBicubic:
      return at::_upsample_bicubic2d_aa(image, size, false);
    default:
      if (native_uint8_bilinear()) return at::_upsample_bilinear2d_aa(image, size, false);
      return at::round(at::_upsample_bilinear2d_aa(image.to(at::kFloat), size, false))
          .to(at::kByte);
  }
}

// torch.tensor(list of Python floats): float32, shaped [3, 1, 1] to broadcast over channels.
at::Tensor channel_values(const std::vector<double>& values) {
  const std::vector<float> as_float(values.begin(), values.end());
  return at::tensor(as_float).view({-1, 1, 1});
}

at::Tensor rescale_and_normalize(const at::Tensor& images, const ImageProcessorConfig& config) {
  if (config.do_normalize) {
    auto mean = channel_values(config.image_mean);
    auto std = channel_values(config.image_std);
    if (config.do_rescale) {  // fused: (x - mean / factor) / (std / factor), all float32
      mean = mean * (1.0 / config.rescale_factor);
      std = std * (1.0 / config.rescale_factor);
    }
    return (images.to(at::kFloat) - mean) / std;
  }
  if (config.do_rescale) return images * config.rescale_factor;  // uint8 x double -> float32
  return images.to(at::kFloat);
}

}  // namespace

ImageProcessor::ImageProcessor(ImageProcessorConfig config) : config_(std::move(config)) {
  config_.validate("ImageProcessorConfig");
  const auto& size = config_.size;
  if (size.height > kMaxImagePixels || size.width > kMaxImagePixels ||
      size.height * size.width > kMaxImagePixels) {
    throw ConfigError(fmt::format("ImageProcessorConfig: size {}x{} exceeds {} pixels", size.height,
                                  size.width, kMaxImagePixels));
  }
  if (config_.resample != kNearest && config_.resample != kBilinear &&
      config_.resample != kBicubic) {
    throw UnsupportedError(
        fmt::format("ImageProcessorConfig: resample {} (LANCZOS, BOX or HAMMING) is not "
                    "supported; NEAREST (0), BILINEAR (2) and BICUBIC (3) are",
                    config_.resample));
  }
}

ImageProcessor ImageProcessor::from_pretrained(const std::filesystem::path& model_dir) {
  return ImageProcessor(load_image_processor_config(model_dir));
}

at::Tensor ImageProcessor::preprocess_image(const Image& image) const {
  auto tensor = to_tensor(image, 0);
  if (config_.do_resize) tensor = resize(tensor, config_);
  return rescale_and_normalize(tensor, config_);
}

at::Tensor ImageProcessor::preprocess(const std::vector<Image>& images) const {
  if (images.empty()) throw InvalidArgumentError("ImageProcessor::preprocess: no images");
  std::vector<at::Tensor> batch;
  batch.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    auto image = to_tensor(images[i], i);
    if (config_.do_resize) {
      image = resize(image, config_);
    } else if (!batch.empty() && image.sizes() != batch.front().sizes()) {
      throw InvalidArgumentError(fmt::format(
          "ImageProcessor::preprocess: without do_resize all images need one size; image {} is "
          "{}x{}, image 0 is {}x{}",
          i, images[i].width, images[i].height, images.front().width, images.front().height));
    }
    batch.push_back(std::move(image));
  }
  return rescale_and_normalize(at::cat(batch), config_);
}

}  // namespace gemma
