#pragma once
// Rendering a conversation with a chat template the way transformers' apply_chat_template does:
// the conversation is normalised as transformers normalises it, then rendered with the special
// tokens of the tokenizer and `tools`/`documents` set to None unless given.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "gemma/chat_template.h"
#include "gemma/config.h"
#include "jinja/jinja.h"

namespace gemma {

struct RenderOptions {
  bool add_generation_prompt = true;
  /// Further template variables (tools, documents, enable_thinking, ...); they override the
  /// special tokens, as keyword arguments do in transformers. Null means none.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  /// What error messages call the messages (e.g. the file they were read from).
  std::string messages_name = "messages";
  TemplateLimits limits;
};

/// transformers' preparation of a conversation: it must be a non-empty list of objects; keys whose
/// value is null are dropped; OpenAI "image_url" parts become {"type": "image", "url": ...} (the
/// processor does this); a message with reasoning under "reasoning_content", "thinking" or
/// "reasoning" gets it under "thinking" and "reasoning_content" as well. Throws
/// InvalidArgumentError naming `source` and the message index.
nlohmann::ordered_json normalize_messages(const nlohmann::ordered_json& messages,
                                          std::string_view source);

/// Renders `messages` (normalised first) with `tmpl`. Throws InvalidArgumentError for a malformed
/// conversation and ProcessorError when the template fails (raise_exception's message verbatim).
std::string apply_chat_template(const jinja::Template& tmpl, const nlohmann::ordered_json& messages,
                                const TokenizerConfig& tokens, const RenderOptions& options);

}  // namespace gemma
