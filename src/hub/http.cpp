#include "hub/http.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <memory>
#include <optional>

#include "gemma/error.h"
#include "util/curl.h"

namespace gemma::hub {

namespace {

struct Exchange {
  const HttpRequest& request;
  HttpResponse response;
};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// Called per header line of every response, redirects included; a status line starts a new set.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& response = static_cast<Exchange*>(user)->response;
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    response.headers.clear();
    const std::string_view code = trim(line.substr(std::min(line.find(' '), line.size())));
    std::from_chars(code.data(), code.data() + code.size(), response.status);
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    response.headers[lower(trim(line.substr(0, colon)))] =
        std::string(trim(line.substr(colon + 1)));
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::string_view chunk(data, size * count);
  // Bodies of redirects and errors are dropped: the hub says what went wrong in its headers.
  const long status = exchange.response.status;
  if (status < 200 || status >= 300 || !exchange.request.on_body) return chunk.size();
  const bool keep_going = exchange.request.on_body(exchange.response, chunk);
  return keep_going ? chunk.size() : 0;  // a short count aborts the transfer
}

using CurlList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

CurlList header_list(const std::vector<std::string>& headers) {
  CurlList list(nullptr, &curl_slist_free_all);
  for (const auto& header : headers) {
    curl_slist* grown = curl_slist_append(list.get(), header.c_str());
    if (grown == nullptr) throw IoError("cannot build HTTP request headers: out of memory");
    list.release();
    list.reset(grown);
  }
  return list;
}

struct Origin {
  std::string scheme, host, port;
  bool operator==(const Origin&) const = default;
};

std::optional<std::string> url_part(CURLU* url, CURLUPart part, unsigned flags) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK) return std::nullopt;
  std::string out(value);
  curl_free(value);
  return out;
}

std::optional<Origin> origin(const std::string& text) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), &curl_url_cleanup);
  if (!url || curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK)
    return std::nullopt;
  auto scheme = url_part(url.get(), CURLUPART_SCHEME, 0);
  auto host = url_part(url.get(), CURLUPART_HOST, 0);
  auto port = url_part(url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port) return std::nullopt;
  return Origin{lower(*scheme), lower(*host), *port};
}

std::string status_reason(const HttpResponse& response, bool had_token) {
  const std::string code = response.header("x-error-code");
  switch (response.status) {
    case 401:
      return had_token ? "the hub refused the token (HTTP 401): the repository is gated or private "
                         "and this token has no access to it"
                       : "the repository is gated or private, or does not exist (HTTP 401): set "
                         "HF_TOKEN (or HubOptions::token) to a Hugging Face access token, after "
                         "accepting the model's licence on its hub page if it is gated";
    case 403:
      return "access denied (HTTP 403): the repository is gated and this token has no access to "
             "it; "
             "accept the model's licence on its hub page and use a token with read access";
    case 404:
      if (code == "RevisionNotFound") return "revision not found (HTTP 404)";
      if (code == "EntryNotFound") return "file not found (HTTP 404)";
      if (code == "RepoNotFound") return "repository not found (HTTP 404)";
      return "not found (HTTP 404)";
    default:
      return fmt::format("HTTP status {}", response.status);
  }
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse http_request(const HttpRequest& request) {
  const auto curl = util::curl_handle(request.url);
  const CurlList headers = header_list(request.headers);
  Exchange exchange{request, {}};
  std::array<char, CURL_ERROR_SIZE> error{};
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_NOBODY, request.head ? 1L : 0L);
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(handle, CURLOPT_UNRESTRICTED_AUTH, 0L);
  // A stalled transfer (under 1 byte/s for a minute) fails, and the caller resumes it.
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error.data());
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &exchange);
  const CURLcode rc = curl_easy_perform(handle);
  HttpResponse& response = exchange.response;
  if (rc != CURLE_OK) response.transport_error = error[0] ? error.data() : curl_easy_strerror(rc);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  char* location = nullptr;
  if (curl_easy_getinfo(handle, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
      location != nullptr)
    response.redirect_url = location;
  return std::move(response);
}

bool same_origin(const std::string& a, const std::string& b) {
  const auto first = origin(a);
  return first && first == origin(b);
}

std::string url_quote(std::string_view text, bool keep_slash) {
  std::string out;
  for (const char c : text) {
    const bool unreserved = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                            c == '_' || c == '~' || (keep_slash && c == '/');
    if (unreserved)
      out.push_back(c);
    else
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

void throw_hub_status(const HttpResponse& response, const std::string& what, bool had_token) {
  std::string message = fmt::format("{}: {}", what, status_reason(response, had_token));
  if (const std::string hub = response.header("x-error-message"); !hub.empty())
    message += fmt::format(" (hub: {})", hub);
  throw IoError(message);
}

}  // namespace gemma::hub
