// The training files a downloaded adapter or a checkpoint directory brings: the first byte picks
// the parser (even: PEFT's adapter_config.json, odd: transformers' trainer_state.json), the rest is
// the file. Each either parses or throws gemma::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gemma/error.h"
#include "train/lora_config.h"
#include "train/trainer_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      gemma::train::parse_adapter_config_text(text, "adapter_config.json");
    } else {
      gemma::train::parse_trainer_state_text(text, "trainer_state.json");
    }
  } catch (const gemma::Error&) {
    // The expected outcome for malformed input.
  }
  return 0;
}
