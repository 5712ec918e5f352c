// decode_audio (libsndfile, channel mix, libsoxr to 16 kHz) on arbitrary bytes: mono samples at
// 16 kHz, or a gemma::Error. max_seconds is 5 s so that no input decodes for long.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "gemma/audio.h"
#include "gemma/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  gemma::AudioLoadOptions options;
  options.max_seconds = 5.0;
  try {
    const auto audio = gemma::decode_audio(bytes, "fuzz audio", 16000, options);
    // Decoded and resampled samples are finite, or decode_audio refuses the input.
    const bool finite = std::all_of(audio.samples.begin(), audio.samples.end(),
                                    [](float s) { return std::isfinite(s); });
    if (audio.sample_rate != 16000 || audio.samples.empty() || !finite) {
      std::fprintf(stderr, "decoded %zu samples at %lld Hz\n", audio.samples.size(),
                   static_cast<long long>(audio.sample_rate));
      std::abort();
    }
  } catch (const gemma::Error&) {
    // The expected outcome for malformed input.
  }
  return 0;
}
