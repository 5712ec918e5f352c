#include "media/image_decode.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "gemma/error.h"
#include "gemma/opencv.h"
#include "media/image_header.h"
#include "media/image_mat.h"
#include "media/quiet_codecs.h"
#include "media/source.h"

namespace gemma {

namespace media {

Image rgb_from_mat(const cv::Mat& mat, std::string_view name) {
  if (mat.depth() == CV_8U) return image_from_mat(mat);
  const int channels = mat.channels();
  if (mat.depth() != CV_16U || (channels != 1 && channels != 3 && channels != 4)) {
    throw UnsupportedError(fmt::format(
        "{}: images with OpenCV depth {} and {} channels are not supported (8- or 16-bit gray, "
        "RGB or RGBA are)",
        name, mat.depth(), channels));
  }
  cv::Mat narrow(mat.size(), CV_MAKETYPE(CV_8U, channels));
  for (int y = 0; y < mat.rows; ++y) {
    const uint16_t* in = mat.ptr<uint16_t>(y);
    uint8_t* out = narrow.ptr<uint8_t>(y);
    for (int i = 0; i < mat.cols * channels; ++i) {
      out[i] = static_cast<uint8_t>(channels == 1 ? std::min<uint16_t>(in[i], 255) : in[i] >> 8);
    }
  }
  return image_from_mat(narrow);
}

void apply_orientation(cv::Mat& mat, int orientation) {
  switch (orientation) {
    case 2:
      cv::flip(mat, mat, 1);
      break;
    case 3:
      cv::rotate(mat, mat, cv::ROTATE_180);
      break;
    case 4:
      cv::flip(mat, mat, 0);
      break;
    case 5:
      cv::transpose(mat, mat);
      break;
    case 6:
      cv::rotate(mat, mat, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7:
      cv::transpose(mat, mat);
      cv::flip(mat, mat, -1);
      break;
    case 8:
      cv::rotate(mat, mat, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      break;
  }
}

}  // namespace media

namespace media {

PixelBudget::PixelBudget(int64_t pixels) : left_(pixels), total_(pixels) {}

void PixelBudget::take(int64_t width, int64_t height, std::string_view name) {
  const int64_t pixels = width * height;  // callers bound each side by max_image_pixels first
  if (pixels > left_) {
    throw ProcessorError(
        fmt::format("{}: decoding its {}x{} pixels would pass the {} pixels one request may decode "
                    "(MediaLimits::max_request_pixels)",
                    name, width, height, total_));
  }
  left_ -= pixels;
}

void check_image_size(int64_t width, int64_t height, std::string_view format, std::string_view name,
                      const MediaLimits& limits) {
  const int64_t limit = std::min(limits.max_image_pixels, kMaxImagePixels);
  if (width > limit || height > limit || width * height > limit) {
    throw ProcessorError(
        fmt::format("{}: the {} is {}x{} pixels, more than the {} pixels gemma decodes "
                    "(MediaLimits::max_image_pixels)",
                    name, format, width, height, limit));
  }
}

Image decode_image(std::string_view bytes, std::string_view name, const MediaLimits& limits,
                   PixelBudget* budget) {
  const auto header = read_image_header(bytes, name);
  check_image_size(header.width, header.height, fmt::format("{} image", header.format), name,
                   limits);
  if (budget) budget->take(header.width, header.height, name);
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    throw ProcessorError(
        fmt::format("{}: {} bytes is more than OpenCV decodes ({})", name, bytes.size(), INT_MAX));
  }
  // IMREAD_UNCHANGED: no EXIF rotation, alpha and 16 bits kept, so that PIL's rules apply after.
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  cv::Mat mat;
  const QuietDecoding quiet;
  try {
    mat = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw ProcessorError(
        fmt::format("{}: cannot decode the {} image: {}", name, header.format, e.err));
  }
  if (mat.empty()) {
    const auto why = quiet.last_message();
    throw ProcessorError(fmt::format("{}: the {} image is corrupt or truncated{}", name,
                                     header.format, why.empty() ? "" : " (" + why + ")"));
  }
  apply_orientation(mat, header.orientation);
  return rgb_from_mat(mat, name);
}

}  // namespace media

Image decode_image(std::string_view bytes, std::string_view name, const MediaLimits& limits) {
  return media::decode_image(bytes, name, limits, nullptr);
}

Image load_image(std::string_view source, const MediaLimits& limits) {
  const auto media = media::read_media(source, "image", limits);
  return decode_image(media.bytes, media.name, limits);
}

Image image_from_rgb(const uint8_t* data, int64_t width, int64_t height) {
  if (data == nullptr) throw InvalidArgumentError("image_from_rgb: data is null");
  if (width < 1 || height < 1 || width > kMaxImagePixels || height > kMaxImagePixels ||
      width * height > kMaxImagePixels) {
    throw InvalidArgumentError(
        fmt::format("image_from_rgb: {}x{} pixels is outside 1..{} (kMaxImagePixels)", width,
                    height, kMaxImagePixels));
  }
  return Image{width, height, std::vector<uint8_t>(data, data + width * height * 3)};
}

}  // namespace gemma
