#pragma once
// The decoder's OpenCV side, shared with video frame extraction.
#include <opencv2/core/mat.hpp>
#include <string_view>

#include "gemma/image.h"

namespace gemma::media {

// An 8- or 16-bit Mat with 1, 3 (BGR) or 4 (BGRA) channels as PIL's convert("RGB") of the same
// file: 8-bit as image_from_mat; 16-bit colour keeps the high byte (PIL's RGB;16B raw modes),
// 16-bit gray is clipped at 255 (PIL's I;16 → RGB). Throws UnsupportedError naming `name` for
// other depths or channel counts.
Image rgb_from_mat(const cv::Mat& mat, std::string_view name);

// PIL's exif_transpose for EXIF Orientation 1..8, in place.
void apply_orientation(cv::Mat& mat, int orientation);

}  // namespace gemma::media
