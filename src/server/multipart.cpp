#include "server/multipart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "gemma/error.h"

namespace gemma::server {
namespace {

constexpr size_t kMaxParts = 64;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of `key` in a header's `; key=value` parameters (quoted or bare), or nullopt.
std::optional<std::string> parameter(std::string_view header, std::string_view key) {
  size_t pos = header.find(';');
  while (pos != std::string_view::npos) {
    auto rest = trim(header.substr(pos + 1));
    const auto eq = rest.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const auto name = lower(trim(rest.substr(0, eq)));
    auto value = rest.substr(eq + 1);
    std::string parsed;
    size_t used = 0;
    if (!value.empty() && value.front() == '"') {
      for (used = 1; used < value.size() && value[used] != '"'; ++used) {
        if (value[used] == '\\' && used + 1 < value.size()) ++used;
        parsed += value[used];
      }
      ++used;
    } else {
      used = std::min(value.find(';'), value.size());
      parsed = std::string(trim(value.substr(0, used)));
    }
    if (name == key) return parsed;
    const auto next = value.find(';', std::min(used, value.size()));
    if (next == std::string_view::npos) return std::nullopt;
    pos = static_cast<size_t>(value.data() + next - header.data());
  }
  return std::nullopt;
}

FormPart parse_part(std::string_view part) {
  const auto end_of_headers = part.find("\r\n\r\n");
  if (end_of_headers == std::string_view::npos) {
    throw InvalidArgumentError("multipart body: a part has no blank line after its headers");
  }
  FormPart out;
  out.data = part.substr(end_of_headers + 4);
  auto headers = part.substr(0, end_of_headers);
  while (!headers.empty()) {
    const auto eol = std::min(headers.find("\r\n"), headers.size());
    const auto line = headers.substr(0, eol);
    headers.remove_prefix(std::min(eol + 2, headers.size()));
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const auto name = lower(trim(line.substr(0, colon)));
    const auto value = trim(line.substr(colon + 1));
    if (name == "content-disposition") {
      out.name = parameter(value, "name").value_or("");
      out.filename = parameter(value, "filename").value_or("");
    } else if (name == "content-type") {
      out.content_type = std::string(value);
    }
  }
  if (out.name.empty()) {
    throw InvalidArgumentError("multipart body: a part has no Content-Disposition name");
  }
  return out;
}

}  // namespace

std::vector<FormPart> parse_multipart(std::string_view content_type, std::string_view body) {
  if (!lower(content_type).starts_with("multipart/form-data")) {
    throw InvalidArgumentError(
        fmt::format("expected a multipart/form-data body, got Content-Type '{}'", content_type));
  }
  const auto boundary = parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) {
    throw InvalidArgumentError("multipart/form-data Content-Type without a valid boundary");
  }
  const std::string delimiter = "--" + *boundary;
  auto pos = body.find(delimiter);
  if (pos == std::string_view::npos) {
    throw InvalidArgumentError("multipart body: the boundary does not occur in the body");
  }
  std::vector<FormPart> parts;
  const std::string separator = "\r\n" + delimiter;
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") {
      throw InvalidArgumentError("multipart body: a boundary line is malformed");
    }
    pos += 2;
    const auto next = body.find(separator, pos);
    if (next == std::string_view::npos) {
      throw InvalidArgumentError("multipart body ends without its closing boundary");
    }
    if (parts.size() == kMaxParts) {
      throw InvalidArgumentError(fmt::format("multipart body has more than {} parts", kMaxParts));
    }
    parts.push_back(parse_part(body.substr(pos, next - pos)));
    pos = next + 2;
  }
}

}  // namespace gemma::server
