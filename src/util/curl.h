#pragma once
// What every libcurl request of gemma shares (hub downloads, media URLs).
#include <memory>
#include <string_view>

namespace gemma::util {

/// A libcurl easy handle (libcurl's `CURL` is `void`, so this header needs no curl include) with
/// the options every gemma request shares: user agent, connect timeout, no signals, http(s) only
/// (also after redirects). libcurl is initialised once per process. Throws IoError naming `url`
/// when no handle can be made.
std::unique_ptr<void, void (*)(void*)> curl_handle(std::string_view url);

/// `url` without its query string, for messages: signed URLs carry credentials there.
std::string_view without_query(std::string_view url);

}  // namespace gemma::util
