// Chat messages in transformers' JSON format: parse_conversations either accepts a conversation
// (or a batch) or throws gemma::Error, and what it accepts survives to_json and a second parse
// unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/error.h"
#include "gemma/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<gemma::Conversation> conversations;
  try {
    conversations = gemma::parse_conversations(text, "fuzz messages");
  } catch (const gemma::Error&) {
    return 0;  // the expected outcome for malformed input
  }
  // Outside the try: an exception from here on is a bug.
  for (const auto& conversation : conversations) {
    const std::string json = gemma::to_json(conversation);
    if (gemma::to_json(gemma::parse_conversation(json, "to_json")) != json) std::abort();
  }
  return 0;
}
