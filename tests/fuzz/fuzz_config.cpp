// Every JSON config parser of a model directory, and the checkpoint index: the first byte picks
// the parser, the rest is the file. Each either parses (and validates) or throws gemma::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gemma/config.h"
#include "gemma/error.h"
#include "io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 7) {
      case 0:
        gemma::parse_model_config(text, "config.json");
        break;
      case 1:
        gemma::parse_generation_defaults(text, "generation_config.json");
        break;
      case 2:
        gemma::parse_image_processor_config(text, "preprocessor_config.json");
        break;
      case 3:
        gemma::parse_audio_feature_config(text, "preprocessor_config.json");
        break;
      case 4:
        gemma::parse_processor_config(text, "processor_config.json");
        break;
      case 5:
        gemma::parse_tokenizer_config(text, "tokenizer_config.json");
        break;
      default:
        gemma::io::parse_weight_map(text, "model.safetensors.index.json");
        break;
    }
  } catch (const gemma::Error&) {
    // The expected outcome for malformed input.
  }
  return 0;
}
