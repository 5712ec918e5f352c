#pragma once
// The named special tokens of TokenizerConfig, listed once for the config parser, the tokenizer
// and the chat-template context (each used to keep its own list, and the template's missed one).
#include <array>
#include <span>
#include <string>
#include <string_view>

#include "gemma/config.h"

namespace gemma::io {

struct SpecialTokenField {
  std::string_view name;  // the key in tokenizer_config.json, special_tokens_map.json, templates
  std::string TokenizerConfig::*member;
  // Gemma 3n's multimodal tokens, which transformers also nests under extra_special_tokens (4.5x)
  // or model_specific_special_tokens (5.x).
  bool multimodal;
};

// mask_token comes last: GemmaTokenizer supplies it by default, so unlike the others a vocabulary
// need not contain it (see kVocabularyTokens).
inline constexpr std::array<SpecialTokenField, 11> kSpecialTokenFields = {{
    {"bos_token", &TokenizerConfig::bos_token, false},
    {"eos_token", &TokenizerConfig::eos_token, false},
    {"pad_token", &TokenizerConfig::pad_token, false},
    {"unk_token", &TokenizerConfig::unk_token, false},
    {"image_token", &TokenizerConfig::image_token, true},
    {"boi_token", &TokenizerConfig::boi_token, true},
    {"eoi_token", &TokenizerConfig::eoi_token, true},
    {"audio_token", &TokenizerConfig::audio_token, true},
    {"boa_token", &TokenizerConfig::boa_token, true},
    {"eoa_token", &TokenizerConfig::eoa_token, true},
    {"mask_token", &TokenizerConfig::mask_token, false},
}};

// The tokens a tokenizer must find in its vocabulary when the config names them.
inline constexpr std::span<const SpecialTokenField, 10> kVocabularyTokens =
    std::span(kSpecialTokenFields).first<10>();

}  // namespace gemma::io
