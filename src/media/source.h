#pragma once
// Media sources as transformers accepts them in messages (`path`, `url`, base64 `data:` URIs): one
// resolver shared by images, audio and video, so every kind gets the same limits and error wording.
#include <cstddef>
#include <string>
#include <string_view>

#include "gemma/media_limits.h"

namespace gemma::media {

struct MediaBytes {
  std::string bytes;
  std::string name;  ///< how errors name the input: the path, the URL, or "data:<mime> URI"
};

/// True for http:// and https:// URLs.
bool is_http_url(std::string_view source);

/// True for `data:` URIs.
bool is_data_uri(std::string_view source);

/// Reads a local path (a regular file), a file:// URL, an http(s) URL (libcurl; redirects
/// followed) or a data: URI (base64 or percent-encoded), within `limits` (max_bytes, and for URLs
/// http_timeout_seconds and max_redirects). `kind` ("image", "audio", "video") words the errors.
/// Throws IoError naming the source when it cannot be read, is empty, or exceeds a limit.
MediaBytes read_media(std::string_view source, std::string_view kind,
                      const MediaLimits& limits = {});

/// HTTP(S) GET into memory within `limits`; throws IoError naming the URL on a transport error, a
/// timeout, too many redirects, an HTTP status >= 400, or a body over max_bytes.
std::string http_get(const std::string& url, const MediaLimits& limits);

}  // namespace gemma::media
