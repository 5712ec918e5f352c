#pragma once
// The request and response schema of `gemma serve`: OpenAI's Chat Completions API
// (POST /v1/chat/completions, GET /v1/models) and the recipe's POST /generate. Torch-free, so the
// parsers that face strangers' bytes run under the sanitizers; every bad request becomes an
// ApiError that the HTTP layer turns into OpenAI's status and error body.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/generation_config.h"
#include "gemma/messages.h"

namespace gemma::server {

// An error that becomes an HTTP status and OpenAI's error body. what() is the message.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string type, std::string message, std::string code = {},
           std::string param = {});
  int status;         // 400, 401, 404, 413, 429, 500, 503, ...
  std::string type;   // OpenAI's: "invalid_request_error", "authentication_error", ...
  std::string code;   // e.g. "invalid_value", "context_length_exceeded"; empty: JSON null
  std::string param;  // the offending field, e.g. "messages[1].content[0].image_url.url"
};

// {"error": {"message", "type", "param", "code"}} with null for an empty param or code.
std::string error_body(const ApiError& e);

// Which media sources a request may name. data: URIs always; http(s) URLs only when allowed;
// never a path or file:// URL, so a request cannot make the server read its own files.
struct MediaPolicy {
  bool allow_http = false;
};

struct ChatRequest {
  std::string model;  // as sent (may be empty)
  Conversation conversation;
  // max_new_tokens, do_sample, temperature, top_p, top_k, min_p, repetition_penalty and seed as
  // the request sets them; the rest unset (the model's defaults).
  GenerationConfig generation;
  // OpenAI's "stop" (at most 4 non-empty strings). Kept apart from generation.stop_strings: the
  // server decides how to end and trim the text (OpenAI's output excludes the stop string).
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// Parses a POST /v1/chat/completions body as OpenAI validates it; throws ApiError (400, with the
// offending field as param) for malformed JSON, wrong types, out-of-range values, media the policy
// refuses, and features this server does not have (tools, n > 1, logprobs, ...).
ChatRequest parse_chat_request(std::string_view body, const MediaPolicy& media);

// The recipe's POST /generate:
// {"messages": [...transformers' format...], "max_new_tokens": 128, "temperature": 0.7}.
struct GenerateRequest {
  Conversation conversation;
  GenerationConfig generation;
};

// Parses a POST /generate body: messages as gemma::parse_conversation accepts them, max_new_tokens
// (default 128) and temperature (default 0.7; 0 is greedy). Throws ApiError 400 as
// parse_chat_request does.
GenerateRequest parse_generate_request(std::string_view body, const MediaPolicy& media);

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double cost = 0;  // reported (usage.cost) only when > 0
};

// A non-streaming response ("object": "chat.completion"). Invalid UTF-8 in `text` becomes U+FFFD.
std::string chat_completion(const std::string& id, int64_t created, const std::string& model,
                            const std::string& text, const std::string& finish_reason,
                            const Usage& usage);

// One SSE chunk's JSON ("object": "chat.completion.chunk"). The first chunk carries role
// "assistant" and content "", the next ones a content piece each with a null finish_reason, the
// last one no role or content (delta {}) and finish_reason "stop" or "length".
std::string chat_chunk(const std::string& id, int64_t created, const std::string& model,
                       const std::optional<std::string>& role,
                       const std::optional<std::string>& content,
                       const std::optional<std::string>& finish_reason);

// The chunk sent after the last one when stream_options.include_usage: "choices": [] and "usage".
std::string usage_chunk(const std::string& id, int64_t created, const std::string& model,
                        const Usage& usage);

// GET /v1/models: {"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}.
std::string models_list(const std::string& model, int64_t created);

}  // namespace gemma::server
