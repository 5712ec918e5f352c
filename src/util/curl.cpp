#include "util/curl.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <mutex>

#include "gemma/error.h"

namespace gemma::util {

std::string_view without_query(std::string_view url) { return url.substr(0, url.find('?')); }

std::unique_ptr<void, void (*)(void*)> curl_handle(std::string_view url) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<void, void (*)(void*)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw IoError(fmt::format("{}: cannot initialise libcurl", without_query(url)));
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "gemma-cpp");
  // A redirect must never reach file://, ftp:// or another scheme that reads what the caller did
  // not name.
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  return curl;
}

}  // namespace gemma::util
