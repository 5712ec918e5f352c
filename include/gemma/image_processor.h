#pragma once
/// The Gemma 3n image processor: `pixel_values` as transformers' SiglipImageProcessor computes
/// them.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <vector>

#include "gemma/config.h"
#include "gemma/export.h"
#include "gemma/image.h"

namespace gemma {

/// transformers' image processor for Gemma 3n (SiglipImageProcessor with the torchvision backend,
/// transformers 5.23): resize to `size` ignoring the aspect ratio (nearest, bilinear or bicubic,
/// antialiased, on uint8 as torchvision does on the CPU), then rescale and normalise as configured.
/// do_convert_rgb has no effect (an Image is RGB already). Immutable; preprocess() may run from
/// several threads at once.
class GEMMA_API ImageProcessor {
 public:
  /// Throws ConfigError for an invalid `config` or a `size` over kMaxImagePixels;
  /// UnsupportedError for resample 4 (BOX) and 5 (HAMMING), which torchvision cannot run on
  /// tensors, and 1 (LANCZOS), whose result in transformers depends on the torchvision version.
  explicit ImageProcessor(ImageProcessorConfig config);

  /// The image-processor settings of the local directory `model_dir` (see
  /// load_image_processor_config).
  static ImageProcessor from_pretrained(const std::filesystem::path& model_dir);

  const ImageProcessorConfig& config() const { return config_; }

  /// `pixel_values` [N, 3, size.height, size.width], float32 on the CPU, for N >= 1 images. Values
  /// are pixel × rescale_factor, then (p − mean) / std per channel when do_normalize (float32
  /// throughout, as transformers). Without do_rescale and do_normalize transformers returns uint8;
  /// this returns the same values as float32. Throws InvalidArgumentError for no images, an image
  /// whose `rgb` size is not width × height × 3, or (without do_resize) images of different sizes.
  at::Tensor preprocess(const std::vector<Image>& images) const;
  /// One image: [1, 3, size.height, size.width], the row preprocess() gives it in a batch.
  at::Tensor preprocess_image(const Image& image) const;

 private:
  ImageProcessorConfig config_;
};

}  // namespace gemma
