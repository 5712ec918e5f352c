// The server's request bodies: parse_chat_request and parse_generate_request either accept a body
// or throw ApiError (never another exception, never a crash), and an accepted request holds no
// media source a request may not name (a server file).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/openai.h"

namespace {

void check_sources(const gemma::Conversation& conversation, bool allow_http) {
  for (const auto& message : conversation) {
    for (const auto& part : message.content) {
      if (part.source.empty()) continue;
      const std::string_view s = part.source;
      const bool remote = s.starts_with("http://") || s.starts_with("https://");
      if (!s.starts_with("data:") && !(allow_http && remote)) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the route and the media policy.
  const bool generate = data[0] & 1, allow_http = data[0] & 2;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (generate) {
      check_sources(gemma::server::parse_generate_request(body, {allow_http}).conversation,
                    allow_http);
    } else {
      const auto request = gemma::server::parse_chat_request(body, {allow_http});
      check_sources(request.conversation, allow_http);
      gemma::server::chat_completion("id", 0, request.model, "text", "stop", {});
    }
  } catch (const gemma::server::ApiError&) {
  }
  return 0;
}
