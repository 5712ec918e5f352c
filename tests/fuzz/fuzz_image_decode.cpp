// decode_image (header check, OpenCV, orientation, RGB conversion) on arbitrary bytes: an RGB
// image of the size the header announced (turned by the EXIF orientation), or a gemma::Error.
// Images the header reader says are larger than 4 megapixels are skipped: decoding them is valid
// (up to kMaxImagePixels) but takes OpenCV too long per input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "gemma/error.h"
#include "gemma/image.h"
#include "media/image_header.h"

namespace {
constexpr int64_t kMaxFuzzPixels = int64_t{1} << 22;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto header = gemma::media::read_image_header(bytes, "fuzz image");
    if (header.width > kMaxFuzzPixels || header.height > kMaxFuzzPixels ||
        header.width * header.height > kMaxFuzzPixels) {
      return 0;
    }
    const auto image = gemma::decode_image(bytes, "fuzz image");
    const bool turned = header.orientation >= 5;
    if (image.width != (turned ? header.height : header.width) ||
        image.height != (turned ? header.width : header.height) ||
        image.rgb.size() != static_cast<std::size_t>(image.width * image.height * 3)) {
      // The size check before decoding trusts the header: OpenCV must agree with it.
      std::fprintf(stderr, "%.*s header %lldx%lld (orientation %d), decoded %lldx%lld\n",
                   static_cast<int>(header.format.size()), header.format.data(),
                   static_cast<long long>(header.width), static_cast<long long>(header.height),
                   header.orientation, static_cast<long long>(image.width),
                   static_cast<long long>(image.height));
      std::abort();
    }
  } catch (const gemma::Error&) {
    // The expected outcome for malformed input.
  }
  return 0;
}
