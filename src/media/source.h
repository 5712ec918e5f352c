#pragma once
// Media sources as transformers accepts them in messages (`path`, `url`, base64 `data:` URIs): one
// resolver shared by images, audio and video, so every kind gets the same limits and error wording.
#include <cstddef>
#include <string>
#include <string_view>

namespace gemma::media {

/// Largest encoded media file read into memory (images, audio, video): 2 GiB.
inline constexpr std::size_t kMaxMediaBytes = std::size_t{2} << 30;

struct MediaBytes {
  std::string bytes;
  std::string name;  ///< how errors name the input: the path, the URL, or "data:<mime> URI"
};

/// True for http:// and https:// URLs.
bool is_http_url(std::string_view source);

/// True for `data:` URIs.
bool is_data_uri(std::string_view source);

/// Reads a local path, a file:// URL, an http(s) URL (libcurl; redirects followed) or a data: URI
/// (base64 or percent-encoded). `kind` ("image", "audio", "video") words the errors. Throws IoError
/// naming the source when it cannot be read, is empty, or exceeds `max_bytes`.
MediaBytes read_media(std::string_view source, std::string_view kind,
                      std::size_t max_bytes = kMaxMediaBytes);

/// HTTP(S) GET into memory; throws IoError naming the URL on a transport error, an HTTP status
/// >= 400, or a body over `max_bytes`.
std::string http_get(const std::string& url, std::size_t max_bytes);

}  // namespace gemma::media
