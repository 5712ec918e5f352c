// The image header reader that runs before OpenCV: every input either yields a format, a positive
// size and an orientation in 1..8, or throws gemma::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gemma/error.h"
#include "media/image_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto header = gemma::media::read_image_header(bytes, "fuzz image");
    if (header.format.empty() || header.width <= 0 || header.height <= 0 ||
        header.orientation < 1 || header.orientation > 8) {
      std::abort();
    }
  } catch (const gemma::Error&) {
    // The expected outcome for malformed input.
  }
  return 0;
}
