#include "media/source.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <memory>

#include "gemma/error.h"
#include "util/curl.h"
#include "util/files.h"
#include "util/hex.h"

namespace gemma::media {

namespace {

namespace fs = std::filesystem;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // standard and URL-safe alphabets
  if (c == '/' || c == '_') return 63;
  return -1;
}

[[noreturn]] void payload_too_large(std::string_view name, std::uint64_t max_bytes) {
  throw IoError(fmt::format("{}: payload exceeds the {} limit (MediaLimits::max_bytes)", name,
                            util::format_bytes(max_bytes)));
}

// RFC 4648 base64; whitespace is skipped (line-wrapped payloads), padding optional. Stops past
// `max_bytes` of output.
std::string decode_base64(std::string_view text, std::string_view name, std::uint64_t max_bytes) {
  std::string out;
  out.reserve(std::min<std::uint64_t>(text.size() / 4 * 3, max_bytes));
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = base64_value(c);
    if (v < 0 || padding) {
      throw IoError(fmt::format("{}: invalid base64 payload (unexpected byte 0x{:02X})", name,
                                static_cast<unsigned char>(c)));
    }
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out.size() == max_bytes) payload_too_large(name, max_bytes);
      out.push_back(char((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) throw IoError(fmt::format("{}: truncated base64 payload", name));
  return out;
}

std::string percent_decode(std::string_view text, std::string_view name,
                           std::uint64_t max_bytes = UINT64_MAX) {
  std::string out;
  out.reserve(std::min<std::uint64_t>(text.size(), max_bytes));
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (out.size() == max_bytes) payload_too_large(name, max_bytes);
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int hi = i + 2 < text.size() ? util::hex_value(text[i + 1]) : -1;
    const int lo = hi >= 0 ? util::hex_value(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) throw IoError(fmt::format("{}: invalid percent-encoding", name));
    out.push_back(char(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// data:[<mime>][;base64],<payload>
MediaBytes read_data_uri(std::string_view uri, std::string_view kind, std::uint64_t max_bytes) {
  const auto comma = uri.find(',');
  const std::string_view header =
      uri.substr(5, comma == std::string_view::npos ? std::string_view::npos : comma - 5);
  const std::string mime(header.substr(0, header.find(';')));
  MediaBytes media;
  media.name = fmt::format("{} data:{} URI", kind, mime.empty() ? "" : mime);
  if (comma == std::string_view::npos)
    throw IoError(fmt::format("{}: malformed data URI (no ',' before the payload)", media.name));
  const std::string_view payload = uri.substr(comma + 1);
  const bool base64 = header.ends_with(";base64");
  media.bytes = base64 ? decode_base64(payload, media.name, max_bytes)
                       : percent_decode(payload, media.name, max_bytes);
  return media;
}

MediaBytes read_local(const fs::path& path, std::string_view kind, std::uint64_t max_bytes) {
  MediaBytes media;
  media.name = path.string();
  try {
    media.bytes = util::read_file(path, max_bytes);
  } catch (const IoError& e) {
    throw IoError(fmt::format("{} file: {}", kind, e.message()));
  }
  return media;
}

struct Download {
  std::string body;
  std::size_t max_bytes = 0;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& d = *static_cast<Download*>(user);
  const std::size_t n = size * count;
  if (d.body.size() + n > d.max_bytes) {
    d.too_large = true;
    return 0;  // aborts the transfer
  }
  d.body.append(data, n);
  return n;
}

}  // namespace

bool is_http_url(std::string_view source) {
  return source.starts_with("http://") || source.starts_with("https://");
}

bool is_data_uri(std::string_view source) { return source.starts_with("data:"); }

std::string http_get(const std::string& url, const MediaLimits& limits) {
  const auto curl = util::curl_handle(url);
  Download d;
  d.max_bytes = limits.max_bytes;
  std::array<char, CURL_ERROR_SIZE> error{};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_MAXREDIRS, static_cast<long>(limits.max_redirects));
  // A server that accepts and never answers (or trickles) must not hold the caller forever.
  double timeout_ms = limits.http_timeout_seconds * 1000;  // NaN and inf included
  if (!(timeout_ms >= 1)) timeout_ms = 1;
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(std::min(timeout_ms, 1e12)));
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error.data());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &d);
  const CURLcode rc = curl_easy_perform(curl.get());
  const auto name = util::without_query(url);
  if (d.too_large) {
    throw IoError(fmt::format("{}: response exceeds the {} limit (MediaLimits::max_bytes)", name,
                              util::format_bytes(limits.max_bytes)));
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    throw IoError(
        fmt::format("cannot download {}: no complete answer within {} s "
                    "(MediaLimits::http_timeout_seconds)",
                    name, limits.http_timeout_seconds));
  }
  if (rc == CURLE_TOO_MANY_REDIRECTS) {
    throw IoError(
        fmt::format("cannot download {}: more than {} redirects "
                    "(MediaLimits::max_redirects)",
                    name, limits.max_redirects));
  }
  if (rc != CURLE_OK) {
    throw IoError(fmt::format("cannot download {}: {}", name,
                              error[0] ? error.data() : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400) throw IoError(fmt::format("cannot download {}: HTTP status {}", name, status));
  return std::move(d.body);
}

MediaBytes read_media(std::string_view source, std::string_view kind, const MediaLimits& limits) {
  if (source.empty()) throw IoError(fmt::format("{} source is empty", kind));
  MediaBytes media;
  if (is_data_uri(source)) {
    media = read_data_uri(source, kind, limits.max_bytes);
  } else if (is_http_url(source)) {
    media.name = std::string(util::without_query(source));
    media.bytes = http_get(std::string(source), limits);
  } else if (source.starts_with("file://")) {
    media = read_local(percent_decode(source.substr(7), source), kind, limits.max_bytes);
  } else {
    media = read_local(fs::path(source), kind, limits.max_bytes);
  }
  if (media.bytes.empty()) throw IoError(fmt::format("{} {}: 0 bytes", kind, media.name));
  return media;
}

}  // namespace gemma::media
