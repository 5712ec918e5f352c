#include "server/openai.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "gemma/error.h"
#include "media/source.h"
#include "util/json.h"

namespace gemma::server {

ApiError::ApiError(int status, std::string type, std::string message, std::string code,
                   std::string param)
    : std::runtime_error(std::move(message)),
      status(status),
      type(std::move(type)),
      code(std::move(code)),
      param(std::move(param)) {}

namespace {

using nlohmann::json;
// Responses keep OpenAI's key order (id, object, created, ...) for people reading them.
using nlohmann::ordered_json;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// Every 400 OpenAI gives names the field and its problem; so do ours.
[[noreturn]] void refuse(const std::string& param, const std::string& problem,
                         std::string code = "invalid_value") {
  throw ApiError(400, "invalid_request_error", fmt::format("'{}' {}", param, problem),
                 std::move(code), param);
}

[[noreturn]] void wrong_type(const std::string& param, std::string_view expected) {
  refuse(param, fmt::format("must be {}", expected), "invalid_type");
}

[[noreturn]] void unsupported(const std::string& param, std::string_view why) {
  refuse(param, fmt::format("is not supported: {}", why), "unsupported_parameter");
}

[[noreturn]] void missing(const std::string& param) {
  refuse(param, "is required", "missing_required_parameter");
}

// OpenAI's SDKs send null for parameters left unset, so null reads as absent.
const json* field(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string string_value(const json& value, const std::string& param) {
  if (!value.is_string()) wrong_type(param, "a string");
  return value.get<std::string>();
}

bool bool_value(const json& value, const std::string& param) {
  if (!value.is_boolean()) wrong_type(param, "a boolean");
  return value.get<bool>();
}

double number_value(const json& value, const std::string& param) {
  if (!value.is_number()) wrong_type(param, "a number");
  return value.get<double>();
}

// An integer in [min, max]. 2.0 counts (the value is exact), 2.5 and 1e30 do not.
int64_t integer_value(const json& value, const std::string& param, int64_t min,
                      int64_t max = kInt64Max) {
  int64_t n = 0;
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(kInt64Max)) {
    refuse(param, fmt::format("must be at most {}", max));
  } else if (value.is_number_integer()) {
    n = value.get<int64_t>();
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    // 2^63 is exact in a double; anything from there up would overflow the conversion.
    if (d != std::floor(d) || d < -0x1p63 || d >= 0x1p63) wrong_type(param, "an integer");
    n = static_cast<int64_t>(d);
  } else {
    wrong_type(param, "an integer");
  }
  if (n < min) refuse(param, fmt::format("must be at least {}", min));
  if (n > max) refuse(param, fmt::format("must be at most {}", max));
  return n;
}

json parse_body(std::string_view body) {
  json request;
  try {
    request = util::parse_json<InvalidArgumentError>(body, "request body");
  } catch (const InvalidArgumentError& e) {
    throw ApiError(400, "invalid_request_error",
                   fmt::format("could not parse the JSON body of the request ({})", e.message()));
  }
  if (!request.is_object()) {
    throw ApiError(400, "invalid_request_error", "the request body must be a JSON object",
                   "invalid_type");
  }
  return request;
}

// Paths and file:// URLs would have the server read (and describe, in errors) its own files;
// remote URLs make it a fetcher for anyone, so they wait for the operator's consent.
void check_media_source(const std::string& source, const std::string& param,
                        const MediaPolicy& policy) {
  if (media::is_data_uri(source)) return;
  if (media::is_http_url(source)) {
    if (policy.allow_http) return;
    refuse(param,
           "is a remote URL: this server does not fetch remote media; send it inline as a "
           "data: URI");
  }
  refuse(param, fmt::format("must be a data: URI{}: requests may not name server-side files",
                            policy.allow_http ? " or an http(s) URL" : ""));
}

ContentPart image_url_part(const json& part, const std::string& where, const MediaPolicy& policy) {
  const json* info = field(part, "image_url");
  if (!info) missing(where + ".image_url");
  std::string param = where + ".image_url";
  // OpenAI nests the URL ({"url": ..., "detail": ...}); some clients send the bare string.
  if (info->is_object()) {
    param += ".url";
    info = field(*info, "url");
    if (!info) missing(param);
  } else if (!info->is_string()) {
    wrong_type(param, "an object with \"url\"");
  }
  std::string url = string_value(*info, param);
  check_media_source(url, param, policy);
  return chat::image(std::move(url));
}

// The alphabets the media reader decodes (standard, URL-safe, line-wrapped); checked here so a bad
// payload is a 400 naming the field rather than a decoding error later.
bool is_base64(std::string_view text) {
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '-' || c == '_' || c == '=' || c == '\n' ||
                    c == '\r';
    if (!ok) return false;
  }
  return true;
}

// {"data": base64, "format": "wav"} becomes a data: URI, the one inline form the media reader
// takes.
ContentPart input_audio_part(const json& part, const std::string& where) {
  const std::string param = where + ".input_audio";
  const json* info = field(part, "input_audio");
  if (!info) missing(param);
  if (!info->is_object()) wrong_type(param, "an object with \"data\" and \"format\"");
  const json* data = field(*info, "data");
  if (!data) missing(param + ".data");
  const std::string base64 = string_value(*data, param + ".data");
  if (base64.empty() || !is_base64(base64)) refuse(param + ".data", "must be base64-encoded audio");
  const json* format = field(*info, "format");
  if (!format) missing(param + ".format");
  const std::string name = string_value(*format, param + ".format");
  if (name != "wav" && name != "mp3" && name != "flac" && name != "ogg")
    refuse(param + ".format", "must be one of wav, mp3, flac, ogg");
  return chat::audio(fmt::format("data:audio/{};base64,{}", name, base64));
}

ContentPart parse_part(const json& part, const std::string& where, const std::string& role,
                       const MediaPolicy& policy) {
  if (!part.is_object()) wrong_type(where, "a content part object");
  const json* type_value = field(part, "type");
  if (!type_value) missing(where + ".type");
  const std::string type = string_value(*type_value, where + ".type");
  if (type == "text") {
    const json* text = field(part, "text");
    if (!text) missing(where + ".text");
    return chat::text(string_value(*text, where + ".text"));
  }
  // The echo is cut short: the value is the client's and may be megabytes long.
  if (type != "image_url" && type != "input_audio")
    refuse(where + ".type", fmt::format("is '{:.40}', not a supported content part type", type));
  // As OpenAI: images and audio are what the user shows the model.
  if (role != "user")
    refuse(where + ".type", fmt::format("is '{}': media are only allowed in user messages", type));
  return type == "image_url" ? image_url_part(part, where, policy) : input_audio_part(part, where);
}

// OpenAI's roles as Gemma's template names them; developer is the newer name for system.
std::string chat_role(const std::string& role, const std::string& param) {
  if (role == "system" || role == "developer") return "system";
  if (role == "user" || role == "assistant") return role;
  if (role == "tool" || role == "function")
    refuse(param, fmt::format("is '{}': tool messages are not supported (no tool calling)", role),
           "unsupported_value");
  refuse(param, "must be one of system, developer, user, assistant");
}

Message parse_message(const json& message, const std::string& where, const MediaPolicy& policy) {
  if (!message.is_object()) wrong_type(where, "an object with \"role\" and \"content\"");
  const json* role = field(message, "role");
  if (!role) missing(where + ".role");
  Message out;
  out.role = chat_role(string_value(*role, where + ".role"), where + ".role");
  for (const char* key : {"tool_calls", "function_call"})
    if (field(message, key)) unsupported(fmt::format("{}.{}", where, key), "no tool calling");
  const json* content = field(message, "content");
  if (!content) {
    // An assistant turn may be empty (OpenAI allows it when it made only tool calls).
    if (out.role != "assistant") missing(where + ".content");
    out.content = {chat::text("")};
    out.content_is_string = true;
  } else if (content->is_string()) {
    out.content = {chat::text(content->get<std::string>())};
    out.content_is_string = true;
  } else if (content->is_array()) {
    if (content->empty()) refuse(where + ".content", "must hold at least one content part");
    for (size_t i = 0; i < content->size(); ++i) {
      out.content.push_back(
          parse_part((*content)[i], fmt::format("{}.content[{}]", where, i), out.role, policy));
    }
  } else {
    wrong_type(where + ".content", "a string or an array of content parts");
  }
  return out;
}

Conversation parse_messages(const json& request, const MediaPolicy& policy) {
  const json* messages = field(request, "messages");
  if (!messages) missing("messages");
  if (!messages->is_array()) wrong_type("messages", "an array of messages");
  if (messages->empty()) refuse("messages", "must hold at least one message");
  Conversation conversation;
  for (size_t i = 0; i < messages->size(); ++i)
    conversation.push_back(parse_message((*messages)[i], fmt::format("messages[{}]", i), policy));
  return conversation;
}

// temperature 0 is OpenAI's way to ask for greedy decoding; anything above turns sampling on.
void apply_temperature(double temperature, GenerationConfig& generation) {
  generation.do_sample = temperature > 0;
  if (temperature > 0) generation.temperature = temperature;
}

void parse_sampling(const json& request, GenerationConfig& generation) {
  // max_tokens is the older name; when both come, the newer one wins.
  for (const char* key : {"max_tokens", "max_completion_tokens"})
    if (const json* v = field(request, key)) generation.max_new_tokens = integer_value(*v, key, 1);
  if (const json* v = field(request, "temperature")) {
    const double t = number_value(*v, "temperature");
    if (t < 0 || t > 2) refuse("temperature", "must be between 0 and 2");
    apply_temperature(t, generation);
  }
  if (const json* v = field(request, "top_p")) {
    const double p = number_value(*v, "top_p");
    if (p <= 0 || p > 1) refuse("top_p", "must be greater than 0 and at most 1");
    generation.top_p = p;
  }
  if (const json* v = field(request, "top_k")) generation.top_k = integer_value(*v, "top_k", 0);
  if (const json* v = field(request, "min_p")) {
    const double p = number_value(*v, "min_p");
    if (p < 0 || p > 1) refuse("min_p", "must be between 0 and 1");
    generation.min_p = p;
  }
  if (const json* v = field(request, "repetition_penalty")) {
    const double penalty = number_value(*v, "repetition_penalty");
    if (penalty <= 0) refuse("repetition_penalty", "must be greater than 0");
    generation.repetition_penalty = penalty;
  }
  if (const json* v = field(request, "seed"))
    generation.seed = static_cast<uint64_t>(integer_value(*v, "seed", 0));
}

std::vector<std::string> parse_stop(const json& request) {
  const json* stop = field(request, "stop");
  if (!stop) return {};
  // An empty stop string would end every completion before its first token.
  auto one = [](const json& value, const std::string& param) {
    std::string s = string_value(value, param);
    if (s.empty()) refuse(param, "must not be empty");
    return s;
  };
  if (stop->is_string()) return {one(*stop, "stop")};
  if (!stop->is_array()) wrong_type("stop", "a string or an array of strings");
  if (stop->size() > 4) refuse("stop", "may hold at most 4 sequences");
  std::vector<std::string> out;
  for (size_t i = 0; i < stop->size(); ++i)
    out.push_back(one((*stop)[i], fmt::format("stop[{}]", i)));
  return out;
}

// Parameters that would change the answer in ways this server cannot honour: refused rather
// than silently ignored, as OpenAI refuses what a model does not support.
void refuse_unsupported(const json& request) {
  if (const json* n = field(request, "n"); n && integer_value(*n, "n", 1) != 1)
    refuse("n", "is not supported above 1: only n=1 is supported", "unsupported_value");
  for (const char* key : {"frequency_penalty", "presence_penalty"}) {
    if (const json* v = field(request, key); v && number_value(*v, key) != 0)
      unsupported(key, "only 0 is accepted (use repetition_penalty)");
  }
  if (const json* v = field(request, "logprobs"); v && bool_value(*v, "logprobs"))
    unsupported("logprobs", "this server does not return log probabilities");
  if (field(request, "top_logprobs"))
    unsupported("top_logprobs", "this server does not return log probabilities");
  if (const json* v = field(request, "logit_bias")) {
    if (!v->is_object()) wrong_type("logit_bias", "an object");
    if (!v->empty()) unsupported("logit_bias", "no logit bias");
  }
  for (const char* key : {"tools", "tool_choice", "functions", "function_call"})
    if (field(request, key)) unsupported(key, "no tool calling");
  if (field(request, "audio")) unsupported("audio", "this server answers in text only");
  if (const json* v = field(request, "modalities")) {
    if (!v->is_array()) wrong_type("modalities", "an array of strings");
    for (size_t i = 0; i < v->size(); ++i) {
      const std::string param = fmt::format("modalities[{}]", i);
      if (string_value((*v)[i], param) != "text")
        unsupported(param, "this server answers in text only");
    }
  }
  if (const json* v = field(request, "response_format")) {
    if (!v->is_object()) wrong_type("response_format", "an object with \"type\"");
    const json* type = field(*v, "type");
    if (!type) missing("response_format.type");
    if (string_value(*type, "response_format.type") != "text")
      unsupported("response_format", "only {\"type\": \"text\"} (no JSON mode or schemas)");
  }
}

void parse_stream(const json& request, ChatRequest& out) {
  if (const json* v = field(request, "stream")) out.stream = bool_value(*v, "stream");
  const json* options = field(request, "stream_options");
  if (!options) return;
  if (!out.stream) refuse("stream_options", "is only allowed when 'stream' is true");
  if (!options->is_object()) wrong_type("stream_options", "an object");
  if (const json* v = field(*options, "include_usage"))
    out.include_usage = bool_value(*v, "stream_options.include_usage");
}

// parse_conversation's messages start with where the problem is ("messages[1].content[0]: ...").
std::string param_of(std::string_view message) {
  const auto colon = message.find(": ");
  if (!message.starts_with("messages") || colon == std::string_view::npos) return "messages";
  return std::string(message.substr(0, colon));
}

// A transformers-format part may name its media by path, file:// or http(s) URL.
void check_media_sources(const Conversation& conversation, const MediaPolicy& policy) {
  for (size_t i = 0; i < conversation.size(); ++i) {
    for (const ContentPart& part : conversation[i].content) {
      // parse_conversation drops unknown parts, so part indices would not match the request's.
      if (part.type != ContentPart::Type::kText)
        check_media_source(part.source, fmt::format("messages[{}].content", i), policy);
    }
  }
}

std::string dump(const ordered_json& value) {
  // Generated text can end mid-character (a token boundary inside a UTF-8 sequence); a response
  // must still go out.
  return value.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ordered_json usage_json(const Usage& usage) {
  ordered_json out = {{"prompt_tokens", usage.prompt_tokens},
                      {"completion_tokens", usage.completion_tokens},
                      {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
  if (usage.cost > 0) out["cost"] = usage.cost;
  return out;
}

ordered_json response_head(const std::string& id, std::string_view object, int64_t created,
                           const std::string& model) {
  return {{"id", id}, {"object", object}, {"created", created}, {"model", model}};
}

}  // namespace

std::string error_body(const ApiError& e) {
  auto or_null = [](const std::string& s) { return s.empty() ? ordered_json() : ordered_json(s); };
  return dump({{"error",
                {{"message", e.what()},
                 {"type", e.type},
                 {"param", or_null(e.param)},
                 {"code", or_null(e.code)}}}});
}

ChatRequest parse_chat_request(std::string_view body, const MediaPolicy& media) {
  const json request = parse_body(body);
  ChatRequest out;
  if (const json* model = field(request, "model")) out.model = string_value(*model, "model");
  out.conversation = parse_messages(request, media);
  parse_sampling(request, out.generation);
  out.stop = parse_stop(request);
  refuse_unsupported(request);
  parse_stream(request, out);
  return out;
}

GenerateRequest parse_generate_request(std::string_view body, const MediaPolicy& media) {
  const json request = parse_body(body);
  const json* messages = field(request, "messages");
  if (!messages) missing("messages");
  GenerateRequest out;
  try {
    out.conversation = parse_conversation(messages->dump(), "messages");
  } catch (const InvalidArgumentError& e) {
    throw ApiError(400, "invalid_request_error", std::string(e.message()), "invalid_value",
                   param_of(e.message()));
  }
  check_media_sources(out.conversation, media);
  out.generation.max_new_tokens = 128;
  if (const json* v = field(request, "max_new_tokens"))
    out.generation.max_new_tokens = integer_value(*v, "max_new_tokens", 1);
  double temperature = 0.7;
  if (const json* v = field(request, "temperature")) {
    temperature = number_value(*v, "temperature");
    if (temperature < 0) refuse("temperature", "must be at least 0");
  }
  apply_temperature(temperature, out.generation);
  return out;
}

std::string chat_completion(const std::string& id, int64_t created, const std::string& model,
                            const std::string& text, const std::string& finish_reason,
                            const Usage& usage) {
  ordered_json out = response_head(id, "chat.completion", created, model);
  out["choices"] = ordered_json::array({{{"index", 0},
                                         {"message", {{"role", "assistant"}, {"content", text}}},
                                         {"finish_reason", finish_reason},
                                         {"logprobs", nullptr}}});
  out["usage"] = usage_json(usage);
  return dump(out);
}

std::string chat_chunk(const std::string& id, int64_t created, const std::string& model,
                       const std::optional<std::string>& role,
                       const std::optional<std::string>& content,
                       const std::optional<std::string>& finish_reason) {
  ordered_json delta = ordered_json::object();
  if (role) delta["role"] = *role;
  if (content) delta["content"] = *content;
  ordered_json out = response_head(id, "chat.completion.chunk", created, model);
  out["choices"] = ordered_json::array(
      {{{"index", 0},
        {"delta", std::move(delta)},
        {"finish_reason", finish_reason ? ordered_json(*finish_reason) : ordered_json()},
        {"logprobs", nullptr}}});
  return dump(out);
}

std::string usage_chunk(const std::string& id, int64_t created, const std::string& model,
                        const Usage& usage) {
  ordered_json out = response_head(id, "chat.completion.chunk", created, model);
  out["choices"] = ordered_json::array();
  out["usage"] = usage_json(usage);
  return dump(out);
}

std::string models_list(const std::string& model, int64_t created) {
  const ordered_json entry = {
      {"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "gemma"}};
  return dump({{"object", "list"}, {"data", ordered_json::array({entry})}});
}

}  // namespace gemma::server
