#pragma once
// Decoding with limits: the per-request pixel budget and the size check shared by images and video
// frames. OpenCV stays out of this header (media/image_mat.h has the Mat side).
#include <cstdint>
#include <string_view>

#include "gemma/image.h"

namespace gemma::media {

// Pixels one request may still decode (MediaLimits::max_request_pixels), charged from headers
// before decoding.
class PixelBudget {
 public:
  explicit PixelBudget(int64_t pixels);
  // Charges width × height (each side already within max_image_pixels); ProcessorError naming
  // `name` when the request's budget cannot pay.
  void take(int64_t width, int64_t height, std::string_view name);

 private:
  int64_t left_;
  int64_t total_;
};

// ProcessorError naming `name` when an image or frame (`what`, e.g. "PNG image") is larger than
// limits.max_image_pixels (never above kMaxImagePixels).
void check_image_size(int64_t width, int64_t height, std::string_view what, std::string_view name,
                      const MediaLimits& limits);

// gemma::decode_image, charging `budget` (if any) from the header before decoding.
Image decode_image(std::string_view bytes, std::string_view name, const MediaLimits& limits,
                   PixelBudget* budget);

}  // namespace gemma::media
