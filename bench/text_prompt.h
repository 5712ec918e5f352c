#pragma once
// The text prompt every benchmark side uses (bench_transformers.py builds the same one).
#include <gemma/messages.h>
#include <gemma/processor.h>

#include <cstdint>
#include <string>

namespace gemma::bench {

inline constexpr const char* kFiller =
    "The quick brown fox jumps over the lazy dog while five boxing wizards jump quickly. ";

// The filler repeated 1, 2, 4, ... times until the templated prompt has at least `tokens` tokens,
// then cut to exactly `tokens` (the generation prompt may be cut off; the length is what counts).
inline BatchEncoding text_prompt(const Processor& processor, int64_t tokens) {
  std::string content = kFiller;
  auto inputs = processor.apply_chat_template({chat::user({chat::text(content)})});
  while (inputs.input_ids.size(1) < tokens) {
    content += content;
    inputs = processor.apply_chat_template({chat::user({chat::text(content)})});
  }
  inputs.input_ids = inputs.input_ids.narrow(1, 0, tokens);
  inputs.attention_mask = inputs.attention_mask.narrow(1, 0, tokens);
  if (inputs.token_type_ids.defined()) {
    inputs.token_type_ids = inputs.token_type_ids.narrow(1, 0, tokens);
  }
  return inputs;
}

}  // namespace gemma::bench
