#pragma once
// multipart/form-data bodies (RFC 7578), as OpenAI's audio endpoints take them. Parts are views
// into the body; the body is already size-capped by the HTTP layer.
#include <string>
#include <string_view>
#include <vector>

namespace gemma::server {

struct FormPart {
  std::string name;          // Content-Disposition name
  std::string filename;      // Content-Disposition filename (files only)
  std::string content_type;  // the part's Content-Type, if any
  std::string_view data;
};

// The parts of `body` for a `content_type` header "multipart/form-data; boundary=...".
// InvalidArgumentError describing the problem for a missing boundary or a malformed body.
std::vector<FormPart> parse_multipart(std::string_view content_type, std::string_view body);

}  // namespace gemma::server
