#pragma once
/// cv::Mat input for gemma. Header-only and the only gemma header that includes OpenCV, so only
/// programs that include it compile against (and link) OpenCV's core module.
#include <opencv2/core/mat.hpp>
#include <string>

#include "gemma/error.h"
#include "gemma/image.h"

namespace gemma {

/// Copies an 8-bit cv::Mat in OpenCV's channel order (1 channel: gray, 3: BGR, 4: BGRA) into an RGB
/// Image by the decoder's rules: gray replicated, alpha dropped (not composited). Any row stride
/// (ROIs) is fine; `mat` is only read. Throws InvalidArgumentError for an empty Mat, more than two
/// dimensions, another depth or channel count, or more than kMaxImagePixels pixels.
inline Image image_from_mat(const cv::Mat& mat) {
  const int channels = mat.channels();
  if (mat.empty() || mat.dims != 2 || mat.depth() != CV_8U ||
      (channels != 1 && channels != 3 && channels != 4)) {
    throw InvalidArgumentError(
        "image_from_mat: need a non-empty 2-D 8-bit Mat with 1, 3 or 4 "
        "channels, got dims " +
        std::to_string(mat.dims) + ", depth " + std::to_string(mat.depth()) + ", " +
        std::to_string(channels) + " channels");
  }
  if (int64_t{mat.rows} * mat.cols > kMaxImagePixels) {
    throw InvalidArgumentError("image_from_mat: " + std::to_string(mat.cols) + "x" +
                               std::to_string(mat.rows) + " exceeds kMaxImagePixels");
  }
  Image image{mat.cols, mat.rows, std::vector<uint8_t>(mat.total() * 3)};
  uint8_t* out = image.rgb.data();
  for (int y = 0; y < mat.rows; ++y) {
    const uint8_t* in = mat.ptr<uint8_t>(y);
    for (int x = 0; x < mat.cols; ++x, in += channels, out += 3) {
      out[0] = in[channels == 1 ? 0 : 2];
      out[1] = in[channels == 1 ? 0 : 1];
      out[2] = in[0];
    }
  }
  return image;
}

}  // namespace gemma
