#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "server/openai.h"

using gemma::ContentPart;
using gemma::server::ApiError;
using gemma::server::MediaPolicy;
using gemma::server::parse_chat_request;
using gemma::server::parse_generate_request;
using gemma::server::Usage;
using nlohmann::json;

namespace {

// A chat request body with `extra` fields after a one-message conversation.
std::string chat_body(const std::string& extra = "") {
  return R"({"model": "gemma-3n", "messages": [{"role": "user", "content": "Hi"}])" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

// The ApiError that parsing `body` throws; fails the test when it parses.
template <class Parse>
ApiError refusal(Parse parse, const std::string& body, MediaPolicy policy = {}) {
  try {
    parse(body, policy);
  } catch (const ApiError& e) {
    return e;
  }
  FAIL("accepted: " << body);
  return ApiError(0, "", "");
}

ApiError chat_refusal(const std::string& body, MediaPolicy policy = {}) {
  return refusal(parse_chat_request, body, policy);
}

ApiError generate_refusal(const std::string& body, MediaPolicy policy = {}) {
  return refusal(parse_generate_request, body, policy);
}

// A chat request whose one user message has the given content parts.
std::string parts_body(const std::string& parts) {
  return R"({"messages": [{"role": "user", "content": [)" + parts + "]}]}";
}

std::string image_body(const std::string& url) {
  return parts_body(R"({"type": "image_url", "image_url": {"url": ")" + url + R"("}})");
}

}  // namespace

TEST_CASE("chat request: messages in OpenAI's format become a Conversation", "[server][unit]") {
  const auto request = parse_chat_request(R"({
    "model": "gemma-3n",
    "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "system", "content": [{"type": "text", "text": "Answer in French."}]},
      {"role": "user", "name": "ann", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
        {"type": "image_url", "image_url": "data:image/jpeg;base64,BBBB"},
        {"type": "input_audio", "input_audio": {"data": "UklG+/9=", "format": "wav"}}]},
      {"role": "assistant", "content": null},
      {"role": "assistant"}]})",
                                          {});
  CHECK(request.model == "gemma-3n");
  const auto& c = request.conversation;
  REQUIRE(c.size() == 5);
  CHECK(c[0].role == "system");  // developer is OpenAI's newer name for system
  CHECK(c[0].content_is_string);
  REQUIRE(c[0].content.size() == 1);
  CHECK(c[0].content[0].text == "Be brief.");
  CHECK(c[1].role == "system");
  CHECK_FALSE(c[1].content_is_string);
  CHECK(c[1].content[0].text == "Answer in French.");
  CHECK(c[2].role == "user");
  CHECK_FALSE(c[2].content_is_string);
  const auto& parts = c[2].content;
  REQUIRE(parts.size() == 4);
  CHECK(parts[0].type == ContentPart::Type::kText);
  CHECK(parts[1].type == ContentPart::Type::kImage);
  CHECK(parts[1].source == "data:image/png;base64,AAAA");
  CHECK(parts[2].source == "data:image/jpeg;base64,BBBB");
  CHECK(parts[3].type == ContentPart::Type::kAudio);
  CHECK(parts[3].source == "data:audio/wav;base64,UklG+/9=");
  for (const auto& m : {c[3], c[4]}) {  // an empty assistant turn reads as ""
    CHECK(m.role == "assistant");
    CHECK(m.content_is_string);
    REQUIRE(m.content.size() == 1);
    CHECK(m.content[0].text.empty());
  }
}

TEST_CASE("chat request: input_audio formats make data: URIs", "[server][unit]") {
  for (const std::string format : {"wav", "mp3", "flac", "ogg"}) {
    const auto request = parse_chat_request(
        parts_body(R"({"type": "input_audio", "input_audio": {"data": "AAAA", "format": ")" +
                   format + R"("}})"),
        {});
    CHECK(request.conversation[0].content[0].source == "data:audio/" + format + ";base64,AAAA");
  }
  // Base64 that looks like a path is still the payload of a data: URI, never a file name.
  const auto path_like = parse_chat_request(
      parts_body(
          R"({"type": "input_audio", "input_audio": {"data": "/etc/passwd", "format": "wav"}})"),
      {});
  CHECK(path_like.conversation[0].content[0].source == "data:audio/wav;base64,/etc/passwd");
}

TEST_CASE("chat request: absent and null parameters leave the model's defaults", "[server][unit]") {
  for (const std::string extra :
       {"", R"("max_tokens": null, "temperature": null, "top_p": null, "seed": null,
               "stop": null, "n": null, "stream": null, "stream_options": null, "tools": null,
               "model": null)"}) {
    const auto request = parse_chat_request(chat_body(extra), {});
    const auto& g = request.generation;
    CHECK_FALSE(g.max_new_tokens);
    CHECK_FALSE(g.do_sample);
    CHECK_FALSE(g.temperature);
    CHECK_FALSE(g.top_p);
    CHECK_FALSE(g.top_k);
    CHECK_FALSE(g.min_p);
    CHECK_FALSE(g.repetition_penalty);
    CHECK_FALSE(g.seed);
    CHECK(g.stop_strings.empty());
    CHECK(request.stop.empty());
    CHECK_FALSE(request.stream);
    CHECK_FALSE(request.include_usage);
  }
  CHECK(
      parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}]})", {}).model.empty());
}

TEST_CASE("chat request: sampling parameters set the GenerationConfig", "[server][unit]") {
  const auto request = parse_chat_request(
      chat_body(R"("max_tokens": 64, "temperature": 0.5, "top_p": 0.9, "top_k": 40,
                   "min_p": 0.05, "repetition_penalty": 1.1, "seed": 9223372036854775807,
                   "n": 1, "user": "u1", "frequency_penalty": 0, "presence_penalty": 0.0,
                   "logprobs": false, "response_format": {"type": "text"}, "logit_bias": {},
                   "modalities": ["text"], "some_future_field": {"x": [1]})"),
      {});
  const auto& g = request.generation;
  CHECK(g.max_new_tokens == 64);
  CHECK(g.do_sample == true);
  CHECK(g.temperature == 0.5);
  CHECK(g.top_p == 0.9);
  CHECK(g.top_k == 40);
  CHECK(g.min_p == 0.05);
  CHECK(g.repetition_penalty == 1.1);
  CHECK(g.seed == 9223372036854775807ull);
}

TEST_CASE("chat request: temperature 0 is greedy", "[server][unit]") {
  const auto greedy = parse_chat_request(chat_body(R"("temperature": 0)"), {}).generation;
  CHECK(greedy.do_sample == false);
  CHECK_FALSE(greedy.temperature);
  const auto top = parse_chat_request(chat_body(R"("temperature": 2)"), {}).generation;
  CHECK(top.do_sample == true);
  CHECK(top.temperature == 2.0);
}

TEST_CASE("chat request: max_completion_tokens wins over max_tokens", "[server][unit]") {
  const auto both =
      parse_chat_request(chat_body(R"("max_tokens": 10, "max_completion_tokens": 20)"), {});
  CHECK(both.generation.max_new_tokens == 20);
  const auto newer = parse_chat_request(chat_body(R"("max_completion_tokens": 7)"), {});
  CHECK(newer.generation.max_new_tokens == 7);
  // An integral value written as a decimal is still exact.
  CHECK(parse_chat_request(chat_body(R"("max_tokens": 2.0)"), {}).generation.max_new_tokens == 2);
}

TEST_CASE("chat request: stop, stream and stream_options", "[server][unit]") {
  CHECK(parse_chat_request(chat_body(R"("stop": "END")"), {}).stop ==
        std::vector<std::string>{"END"});
  CHECK(parse_chat_request(chat_body(R"("stop": ["a", "b", "c", "d"])"), {}).stop ==
        std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(parse_chat_request(chat_body(R"("stop": [])"), {}).stop.empty());
  const auto streamed = parse_chat_request(
      chat_body(R"("stream": true, "stream_options": {"include_usage": true})"), {});
  CHECK(streamed.stream);
  CHECK(streamed.include_usage);
  const auto quiet = parse_chat_request(chat_body(R"("stream": true, "stream_options": {})"), {});
  CHECK(quiet.stream);
  CHECK_FALSE(quiet.include_usage);
}

TEST_CASE("chat request: bad parameters are 400s naming the field", "[server][unit]") {
  struct Case {
    std::string extra, param, code;
  };
  const Case cases[] = {
      {R"("model": 5)", "model", "invalid_type"},
      {R"("max_tokens": 0)", "max_tokens", "invalid_value"},
      {R"("max_tokens": -3)", "max_tokens", "invalid_value"},
      {R"("max_tokens": 1.5)", "max_tokens", "invalid_type"},
      {R"("max_tokens": 1e30)", "max_tokens", "invalid_type"},
      {R"("max_tokens": "5")", "max_tokens", "invalid_type"},
      {R"("max_tokens": true)", "max_tokens", "invalid_type"},
      {R"("max_tokens": 18446744073709551615)", "max_tokens", "invalid_value"},
      {R"("max_completion_tokens": 0)", "max_completion_tokens", "invalid_value"},
      {R"("max_tokens": 5, "max_completion_tokens": [5])", "max_completion_tokens", "invalid_type"},
      {R"("temperature": -0.1)", "temperature", "invalid_value"},
      {R"("temperature": 2.01)", "temperature", "invalid_value"},
      {R"("temperature": "0.7")", "temperature", "invalid_type"},
      {R"("temperature": false)", "temperature", "invalid_type"},
      {R"("top_p": 0)", "top_p", "invalid_value"},
      {R"("top_p": 1.5)", "top_p", "invalid_value"},
      {R"("top_p": [])", "top_p", "invalid_type"},
      {R"("top_k": -1)", "top_k", "invalid_value"},
      {R"("top_k": 4.5)", "top_k", "invalid_type"},
      {R"("min_p": -0.5)", "min_p", "invalid_value"},
      {R"("min_p": 1.01)", "min_p", "invalid_value"},
      {R"("repetition_penalty": 0)", "repetition_penalty", "invalid_value"},
      {R"("repetition_penalty": -1)", "repetition_penalty", "invalid_value"},
      {R"("seed": -1)", "seed", "invalid_value"},
      {R"("seed": 9223372036854775808)", "seed", "invalid_value"},
      {R"("seed": 1.25)", "seed", "invalid_type"},
      {R"("seed": "42")", "seed", "invalid_type"},
      {R"("stop": "")", "stop", "invalid_value"},
      {R"("stop": 5)", "stop", "invalid_type"},
      {R"("stop": ["a", "b", "c", "d", "e"])", "stop", "invalid_value"},
      {R"("stop": ["a", 1])", "stop[1]", "invalid_type"},
      {R"("stop": ["a", ""])", "stop[1]", "invalid_value"},
      {R"("n": 2)", "n", "unsupported_value"},
      {R"("n": 0)", "n", "invalid_value"},
      {R"("n": "1")", "n", "invalid_type"},
      {R"("stream": "yes")", "stream", "invalid_type"},
      {R"("stream": 1)", "stream", "invalid_type"},
      {R"("stream_options": {"include_usage": true})", "stream_options", "invalid_value"},
      {R"("stream": false, "stream_options": {"include_usage": true})", "stream_options",
       "invalid_value"},
      {R"("stream": true, "stream_options": true)", "stream_options", "invalid_type"},
      {R"("stream": true, "stream_options": {"include_usage": 1})", "stream_options.include_usage",
       "invalid_type"},
      {R"("frequency_penalty": 0.5)", "frequency_penalty", "unsupported_parameter"},
      {R"("frequency_penalty": "0")", "frequency_penalty", "invalid_type"},
      {R"("presence_penalty": -1)", "presence_penalty", "unsupported_parameter"},
      {R"("logprobs": true)", "logprobs", "unsupported_parameter"},
      {R"("logprobs": "no")", "logprobs", "invalid_type"},
      {R"("top_logprobs": 2)", "top_logprobs", "unsupported_parameter"},
      {R"("logit_bias": {"50256": -100})", "logit_bias", "unsupported_parameter"},
      {R"("logit_bias": [])", "logit_bias", "invalid_type"},
      {R"("tools": [])", "tools", "unsupported_parameter"},
      {R"("tool_choice": "auto")", "tool_choice", "unsupported_parameter"},
      {R"("functions": [{"name": "f"}])", "functions", "unsupported_parameter"},
      {R"("function_call": "auto")", "function_call", "unsupported_parameter"},
      {R"("audio": {"voice": "alloy", "format": "wav"})", "audio", "unsupported_parameter"},
      {R"("modalities": ["text", "audio"])", "modalities[1]", "unsupported_parameter"},
      {R"("modalities": "text")", "modalities", "invalid_type"},
      {R"("response_format": {"type": "json_object"})", "response_format", "unsupported_parameter"},
      {R"("response_format": {"type": "json_schema", "json_schema": {}})", "response_format",
       "unsupported_parameter"},
      {R"("response_format": "text")", "response_format", "invalid_type"},
      {R"("response_format": {})", "response_format.type", "missing_required_parameter"},
  };
  for (const auto& c : cases) {
    INFO(c.extra);
    const auto e = chat_refusal(chat_body(c.extra));
    CHECK(e.status == 400);
    CHECK(e.type == "invalid_request_error");
    CHECK(e.param == c.param);
    CHECK(e.code == c.code);
    CHECK(std::string(e.what()).find("'" + c.param + "'") != std::string::npos);
  }
  CHECK_THAT(chat_refusal(chat_body(R"("n": 3)")).what(), Catch::Contains("only n=1"));
  CHECK_THAT(chat_refusal(chat_body(R"("tools": [{"type": "function"}])")).what(),
             Catch::Contains("not supported"));
}

TEST_CASE("chat request: bad messages are 400s naming the field", "[server][unit]") {
  struct Case {
    std::string body, param, code;
  };
  const Case cases[] = {
      {R"({})", "messages", "missing_required_parameter"},
      {R"({"messages": null})", "messages", "missing_required_parameter"},
      {R"({"messages": []})", "messages", "invalid_value"},
      {R"({"messages": "hi"})", "messages", "invalid_type"},
      {R"({"messages": {"role": "user"}})", "messages", "invalid_type"},
      {R"({"messages": ["hi"]})", "messages[0]", "invalid_type"},
      {R"({"messages": [{"content": "hi"}]})", "messages[0].role", "missing_required_parameter"},
      {R"({"messages": [{"role": 1, "content": "hi"}]})", "messages[0].role", "invalid_type"},
      {R"({"messages": [{"role": "model", "content": "hi"}]})", "messages[0].role",
       "invalid_value"},
      {R"({"messages": [{"role": "tool", "content": "42", "tool_call_id": "c1"}]})",
       "messages[0].role", "unsupported_value"},
      {R"({"messages": [{"role": "function", "name": "f", "content": "42"}]})", "messages[0].role",
       "unsupported_value"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content", "missing_required_parameter"},
      {R"({"messages": [{"role": "system", "content": null}]})", "messages[0].content",
       "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": {"type": "text"}}]})", "messages[0].content",
       "invalid_type"},
      {R"({"messages": [{"role": "user", "content": []}]})", "messages[0].content",
       "invalid_value"},
      {R"({"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "c"}]}]})",
       "messages[0].tool_calls", "unsupported_parameter"},
      {R"({"messages": [{"role": "assistant", "content": "", "function_call": {"name": "f"}}]})",
       "messages[0].function_call", "unsupported_parameter"},
      {parts_body(R"("text")"), "messages[0].content[0]", "invalid_type"},
      {parts_body(R"({"text": "hi"})"), "messages[0].content[0].type",
       "missing_required_parameter"},
      {parts_body(R"({"type": 3})"), "messages[0].content[0].type", "invalid_type"},
      {parts_body(R"({"type": "text"})"), "messages[0].content[0].text",
       "missing_required_parameter"},
      {parts_body(R"({"type": "text", "text": ["hi"]})"), "messages[0].content[0].text",
       "invalid_type"},
      {parts_body(R"({"type": "text", "text": "a"}, {"type": "file", "file": {}})"),
       "messages[0].content[1].type", "invalid_value"},
      {parts_body(R"({"type": "image", "url": "data:image/png;base64,AAAA"})"),
       "messages[0].content[0].type", "invalid_value"},
      {parts_body(R"({"type": "image_url"})"), "messages[0].content[0].image_url",
       "missing_required_parameter"},
      {parts_body(R"({"type": "image_url", "image_url": 5})"), "messages[0].content[0].image_url",
       "invalid_type"},
      {parts_body(R"({"type": "image_url", "image_url": {"detail": "low"}})"),
       "messages[0].content[0].image_url.url", "missing_required_parameter"},
      {parts_body(R"({"type": "image_url", "image_url": {"url": 5}})"),
       "messages[0].content[0].image_url.url", "invalid_type"},
      {parts_body(R"({"type": "input_audio"})"), "messages[0].content[0].input_audio",
       "missing_required_parameter"},
      {parts_body(R"({"type": "input_audio", "input_audio": "AAAA"})"),
       "messages[0].content[0].input_audio", "invalid_type"},
      {parts_body(R"({"type": "input_audio", "input_audio": {"format": "wav"}})"),
       "messages[0].content[0].input_audio.data", "missing_required_parameter"},
      {parts_body(R"({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}})"),
       "messages[0].content[0].input_audio.data", "invalid_value"},
      // Not base64: a data: URI or a path smuggled into "data" is refused too.
      {parts_body(
           R"({"type": "input_audio", "input_audio": {"data": "../a.wav", "format": "wav"}})"),
       "messages[0].content[0].input_audio.data", "invalid_value"},
      {parts_body(
           R"({"type": "input_audio", "input_audio": {"data": "data:a;b,AA", "format": "wav"}})"),
       "messages[0].content[0].input_audio.data", "invalid_value"},
      {parts_body(R"({"type": "input_audio", "input_audio": {"data": "AAAA"}})"),
       "messages[0].content[0].input_audio.format", "missing_required_parameter"},
      {parts_body(R"({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "aac"}})"),
       "messages[0].content[0].input_audio.format", "invalid_value"},
      {parts_body(R"({"type": "input_audio", "input_audio": {"data": "AAAA", "format": 1}})"),
       "messages[0].content[0].input_audio.format", "invalid_type"},
      // As OpenAI: images and audio only in user messages.
      {R"({"messages": [{"role": "system", "content": [
           {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]})",
       "messages[0].content[0].type", "invalid_value"},
      {R"({"messages": [{"role": "assistant", "content": [
           {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]})",
       "messages[0].content[0].type", "invalid_value"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    const auto e = chat_refusal(c.body);
    CHECK(e.status == 400);
    CHECK(e.type == "invalid_request_error");
    CHECK(e.param == c.param);
    CHECK(e.code == c.code);
  }
  CHECK_THAT(chat_refusal(parts_body(R"({"type": "file", "file": {}})")).what(),
             Catch::Contains("'file'"));
}

TEST_CASE("chat request: media must be data: URIs, or http(s) URLs when allowed",
          "[server][unit]") {
  const std::string param = "messages[0].content[0].image_url.url";
  const MediaPolicy remote{.allow_http = true};
  for (const std::string url : {"http://example.com/cat.png", "https://example.com/cat.png"}) {
    INFO(url);
    const auto e = chat_refusal(image_body(url));
    CHECK(e.status == 400);
    CHECK(e.param == param);
    CHECK_THAT(e.what(),
               Catch::Contains("does not fetch remote media") && Catch::Contains("data: URI"));
    CHECK(parse_chat_request(image_body(url), remote).conversation[0].content[0].source == url);
  }
  // Whatever the media reader would take as a local file: never from a request.
  for (const std::string url :
       {"/etc/passwd", "cat.png", "file:///etc/passwd", "ftp://host/x", "",
        "DATA:image/png;base64,AAAA", "HTTP://example.com/x", " data:image/png;base64,AAAA"}) {
    for (const MediaPolicy& policy : {MediaPolicy{}, remote}) {
      INFO(url << " allow_http=" << policy.allow_http);
      const auto e = chat_refusal(image_body(url), policy);
      CHECK(e.status == 400);
      CHECK(e.param == param);
      CHECK_THAT(e.what(), Catch::Contains("server-side files"));
    }
  }
  const auto bare =
      chat_refusal(parts_body(R"({"type": "image_url", "image_url": "/etc/passwd"})"));
  CHECK(bare.param == "messages[0].content[0].image_url");
  CHECK(parse_chat_request(image_body("data:image/png;base64,AAAA"), {})
            .conversation[0]
            .content[0]
            .source == "data:image/png;base64,AAAA");
}

TEST_CASE("request bodies: malformed JSON, non-objects and depth bombs are 400s",
          "[server][unit]") {
  for (const std::string body :
       {"", "{", R"({"messages": [})", "not json", "{\"a\": 1e400}", "{\"a\": \"\xff\"}"}) {
    INFO(body);
    for (const auto& e : {chat_refusal(body), generate_refusal(body)}) {
      CHECK(e.status == 400);
      CHECK(e.type == "invalid_request_error");
      CHECK(e.param.empty());
      CHECK(e.code.empty());
      CHECK_THAT(e.what(), Catch::Contains("JSON"));
      CHECK(json::parse(gemma::server::error_body(e))["error"]["message"].is_string());
    }
  }
  for (const std::string body : {"[]", "5", "\"messages\"", "null"}) {
    INFO(body);
    CHECK(chat_refusal(body).status == 400);
    CHECK(generate_refusal(body).status == 400);
  }
  const std::string bomb(100000, '[');
  const std::string object_bomb = chat_body(R"("extra": )" + std::string(100000, '{'));
  for (const auto& body : {bomb, object_bomb}) {
    const auto e = chat_refusal(body);
    CHECK(e.status == 400);
    CHECK_THAT(e.what(), Catch::Contains("nested"));
    CHECK(generate_refusal(body).status == 400);
  }
}

TEST_CASE("generate request: transformers' messages with the recipe's defaults", "[server][unit]") {
  const auto request = parse_generate_request(R"({"messages": [
      {"role": "user", "content": [
        {"type": "image", "url": "data:image/png;base64,AAAA"},
        {"type": "image", "base64": "AAAA"},
        {"type": "text", "text": "What is this?"}]}]})",
                                              {});
  REQUIRE(request.conversation.size() == 1);
  const auto& parts = request.conversation[0].content;
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].source == "data:image/png;base64,AAAA");
  CHECK(parts[1].source.starts_with("data:"));
  CHECK(request.generation.max_new_tokens == 128);
  CHECK(request.generation.do_sample == true);
  CHECK(request.generation.temperature == 0.7);

  const auto set = parse_generate_request(
      R"({"messages": [{"role": "user", "content": "Hi"}], "max_new_tokens": 16,
          "temperature": 1.3})",
      {});
  CHECK(set.conversation[0].content_is_string);
  CHECK(set.generation.max_new_tokens == 16);
  CHECK(set.generation.temperature == 1.3);
  const auto greedy = parse_generate_request(
      R"({"messages": [{"role": "user", "content": "Hi"}], "temperature": 0})", {});
  CHECK(greedy.generation.do_sample == false);
  CHECK_FALSE(greedy.generation.temperature);
}

TEST_CASE("generate request: bad fields are 400s naming the field", "[server][unit]") {
  struct Case {
    std::string body, param;
  };
  const std::string hi = R"("messages": [{"role": "user", "content": "Hi"}])";
  const Case cases[] = {
      {R"({})", "messages"},
      {R"({"messages": []})", "messages"},
      {R"({"messages": "Hi"})", "messages"},
      {R"({"messages": [{"content": "Hi"}]})", "messages[0]"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image"}]}]})",
       "messages[0].content[0]"},
      {"{" + hi + R"(, "max_new_tokens": 0})", "max_new_tokens"},
      {"{" + hi + R"(, "max_new_tokens": 2.5})", "max_new_tokens"},
      {"{" + hi + R"(, "max_new_tokens": "8"})", "max_new_tokens"},
      {"{" + hi + R"(, "temperature": -1})", "temperature"},
      {"{" + hi + R"(, "temperature": "hot"})", "temperature"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    const auto e = generate_refusal(c.body);
    CHECK(e.status == 400);
    CHECK(e.type == "invalid_request_error");
    CHECK(e.param == c.param);
    CHECK_FALSE(std::string(e.what()).starts_with("[gemma."));
  }
}

TEST_CASE("generate request: media sources follow the policy", "[server][unit]") {
  const auto body = [](const std::string& part) {
    return R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, )" + part +
           "]}]}";
  };
  const MediaPolicy remote{.allow_http = true};
  for (const std::string part :
       {R"({"type": "image", "path": "/etc/passwd"})", R"({"type": "image", "image": "cat.png"})",
        R"({"type": "audio", "url": "file:///etc/passwd"})",
        R"({"type": "video", "video": "clip.mp4"})",
        R"({"type": "image_url", "image_url": {"url": "/etc/hosts"}})"}) {
    for (const MediaPolicy& policy : {MediaPolicy{}, remote}) {
      INFO(part << " allow_http=" << policy.allow_http);
      const auto e = generate_refusal(body(part), policy);
      CHECK(e.status == 400);
      CHECK(e.param == "messages[0].content");
      CHECK_THAT(e.what(), Catch::Contains("server-side files"));
    }
  }
  const std::string url = R"({"type": "audio", "url": "https://example.com/a.wav"})";
  CHECK_THAT(generate_refusal(body(url)).what(), Catch::Contains("does not fetch remote media"));
  CHECK(parse_generate_request(body(url), remote).conversation[0].content[1].source ==
        "https://example.com/a.wav");
}

TEST_CASE("error_body: OpenAI's error object with null param and code when empty",
          "[server][unit]") {
  const auto full = json::parse(gemma::server::error_body(
      ApiError(400, "invalid_request_error", "bad", "invalid_value", "messages[0].role")));
  CHECK(full == json::parse(R"({"error": {"message": "bad", "type": "invalid_request_error",
                                          "param": "messages[0].role",
                                          "code": "invalid_value"}})"));
  const ApiError bare(401, "authentication_error", "no key");
  CHECK(bare.status == 401);
  CHECK(std::string(bare.what()) == "no key");
  const auto body = json::parse(gemma::server::error_body(bare));
  CHECK(body["error"]["param"].is_null());
  CHECK(body["error"]["code"].is_null());
  CHECK(body["error"]["type"] == "authentication_error");
  // A message quoting a client's bytes still makes valid JSON.
  const auto odd = json::parse(gemma::server::error_body(ApiError(400, "x", "bad \xff\xfe")));
  CHECK(odd["error"]["message"] == "bad \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("chat_completion: OpenAI's response object", "[server][unit]") {
  const auto r = json::parse(gemma::server::chat_completion("chatcmpl-1", 1700000000, "gemma-3n",
                                                            "Hello!", "stop", Usage{12, 3}));
  CHECK(r["id"] == "chatcmpl-1");
  CHECK(r["object"] == "chat.completion");
  CHECK(r["created"] == 1700000000);
  CHECK(r["model"] == "gemma-3n");
  REQUIRE(r["choices"].size() == 1);
  const auto& choice = r["choices"][0];
  CHECK(choice["index"] == 0);
  CHECK(choice["message"] == json{{"role", "assistant"}, {"content", "Hello!"}});
  CHECK(choice["finish_reason"] == "stop");
  CHECK(choice["logprobs"].is_null());
  CHECK(r["usage"] == json{{"prompt_tokens", 12}, {"completion_tokens", 3}, {"total_tokens", 15}});

  const auto priced = json::parse(gemma::server::chat_completion(
      "chatcmpl-2", 1, "m", "x", "length",
      Usage{.prompt_tokens = 1, .completion_tokens = 2, .cost = 0.25}));
  CHECK(priced["choices"][0]["finish_reason"] == "length");
  CHECK(priced["usage"]["cost"] == 0.25);
  CHECK(priced["usage"]["total_tokens"] == 3);
}

TEST_CASE("response builders: invalid UTF-8 in generated text becomes U+FFFD", "[server][unit]") {
  const std::string cut = "caf\xC3";  // a token boundary inside é
  const auto r = json::parse(gemma::server::chat_completion("id", 1, "m", cut, "length", {}));
  CHECK(r["choices"][0]["message"]["content"] == "caf\xEF\xBF\xBD");
  const auto chunk =
      json::parse(gemma::server::chat_chunk("id", 1, "m\xFF", std::nullopt, cut, std::nullopt));
  CHECK(chunk["choices"][0]["delta"]["content"] == "caf\xEF\xBF\xBD");
  CHECK(chunk["model"] == "m\xEF\xBF\xBD");
}

TEST_CASE("chat_chunk: the streaming chunks, first to last", "[server][unit]") {
  const auto first = json::parse(
      gemma::server::chat_chunk("chatcmpl-1", 5, "gemma-3n", "assistant", "", std::nullopt));
  CHECK(first["id"] == "chatcmpl-1");
  CHECK(first["object"] == "chat.completion.chunk");
  CHECK(first["created"] == 5);
  CHECK(first["model"] == "gemma-3n");
  CHECK_FALSE(first.contains("usage"));
  REQUIRE(first["choices"].size() == 1);
  CHECK(first["choices"][0]["index"] == 0);
  CHECK(first["choices"][0]["delta"] == json{{"role", "assistant"}, {"content", ""}});
  REQUIRE(first["choices"][0].contains("finish_reason"));
  CHECK(first["choices"][0]["finish_reason"].is_null());

  const auto middle = json::parse(
      gemma::server::chat_chunk("chatcmpl-1", 5, "gemma-3n", std::nullopt, "Hel", std::nullopt));
  CHECK(middle["choices"][0]["delta"] == json{{"content", "Hel"}});
  REQUIRE(middle["choices"][0].contains("finish_reason"));
  CHECK(middle["choices"][0]["finish_reason"].is_null());

  const auto last = json::parse(
      gemma::server::chat_chunk("chatcmpl-1", 5, "gemma-3n", std::nullopt, std::nullopt, "stop"));
  CHECK(last["choices"][0]["delta"].is_object());
  CHECK(last["choices"][0]["delta"].empty());
  CHECK(last["choices"][0]["finish_reason"] == "stop");
}

TEST_CASE("usage_chunk: empty choices and the usage", "[server][unit]") {
  const auto chunk =
      json::parse(gemma::server::usage_chunk("chatcmpl-1", 5, "gemma-3n", Usage{7, 4}));
  CHECK(chunk["id"] == "chatcmpl-1");
  CHECK(chunk["object"] == "chat.completion.chunk");
  CHECK(chunk["created"] == 5);
  CHECK(chunk["model"] == "gemma-3n");
  CHECK(chunk["choices"] == json::array());
  CHECK(chunk["usage"] ==
        json{{"prompt_tokens", 7}, {"completion_tokens", 4}, {"total_tokens", 11}});
  const auto priced =
      json::parse(gemma::server::usage_chunk("c", 5, "m", Usage{.prompt_tokens = 1, .cost = 1e-6}));
  CHECK(priced["usage"]["cost"] == 1e-6);
}

TEST_CASE("models_list: one model owned by gemma", "[server][unit]") {
  const auto list = json::parse(gemma::server::models_list("google/gemma-3n-E2B-it", 1700000000));
  CHECK(list == json::parse(R"({"object": "list", "data": [{"id": "google/gemma-3n-E2B-it",
                                "object": "model", "created": 1700000000,
                                "owned_by": "gemma"}]})"));
}
