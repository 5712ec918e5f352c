#include "media/image_decode.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "gemma/error.h"
#include "gemma/opencv.h"
#include "media/image_header.h"
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

Image decode_image(std::string_view bytes, std::string_view name) {
  const auto header = media::read_image_header(bytes, name);
  if (header.width > kMaxImagePixels || header.height > kMaxImagePixels ||
      header.width * header.height > kMaxImagePixels) {
    throw ProcessorError(fmt::format(
        "{}: the {} image is {}x{} pixels, more than the {} pixels gemma decodes (kMaxImagePixels)",
        name, header.format, header.width, header.height, kMaxImagePixels));
  }
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    throw ProcessorError(
        fmt::format("{}: {} bytes is more than OpenCV decodes ({})", name, bytes.size(), INT_MAX));
  }
  // IMREAD_UNCHANGED: no EXIF rotation, alpha and 16 bits kept, so that PIL's rules apply after.
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  cv::Mat mat;
  try {
    mat = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw ProcessorError(
        fmt::format("{}: cannot decode the {} image: {}", name, header.format, e.err));
  }
  if (mat.empty()) {
    throw ProcessorError(
        fmt::format("{}: the {} image is corrupt or truncated", name, header.format));
  }
  media::apply_orientation(mat, header.orientation);
  return media::rgb_from_mat(mat, name);
}

Image load_image(std::string_view source) {
  const auto media = media::read_media(source, "image");
  return decode_image(media.bytes, media.name);
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
