// data: URIs as messages carry media ("data:" + the input): the payload decodes (base64 or
// percent-encoding) to at most max_bytes non-empty bytes, or read_media throws gemma::Error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gemma/error.h"
#include "gemma/media_limits.h"
#include "media/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string uri = "data:" + std::string(reinterpret_cast<const char*>(data), size);
  gemma::MediaLimits limits;
  limits.max_bytes = 1024;
  try {
    const auto media = gemma::media::read_media(uri, "image", limits);
    if (media.bytes.empty() || media.bytes.size() > limits.max_bytes) {
      std::fprintf(stderr, "%zu bytes decoded, limit %llu\n", media.bytes.size(),
                   static_cast<unsigned long long>(limits.max_bytes));
      std::abort();
    }
  } catch (const gemma::Error&) {
    // The expected outcome for malformed input.
  }
  return 0;
}
