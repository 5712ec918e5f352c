// multipart/form-data bodies: parse_multipart either returns parts that lie inside the body or
// throws gemma::Error. The first line of the input is the Content-Type header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gemma/error.h"
#include "server/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const auto content_type = input.substr(0, newline), body = input.substr(newline + 1);
  try {
    for (const auto& part : gemma::server::parse_multipart(content_type, body)) {
      if (part.data.data() < body.data() ||
          part.data.data() + part.data.size() > body.data() + body.size())
        std::abort();
    }
  } catch (const gemma::Error&) {
  }
  return 0;
}
