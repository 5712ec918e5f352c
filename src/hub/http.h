#pragma once
// The HTTP exchanges the hub client needs (HEAD without following redirects, GET streamed to a
// sink), with response headers captured and hub error statuses turned into IoErrors.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gemma::hub {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  ///< of the last response, names lower-cased
  std::string redirect_url;                    ///< absolute Location of a 3xx response
  std::string transport_error;                 ///< empty when the exchange completed
  std::string header(const std::string& name) const;
};

struct HttpRequest {
  std::string url;
  bool head = false;
  /// Lets libcurl follow redirects. It drops our Authorization header when a redirect leaves the
  /// original scheme, host and port (CURLOPT_UNRESTRICTED_AUTH stays off).
  bool follow_redirects = false;
  std::vector<std::string> headers;  ///< "Name: value"
  /// Receives the body of a 2xx response with the response's status and headers; returning false
  /// aborts the transfer.
  std::function<bool(const HttpResponse&, std::string_view)> on_body;
};

/// Performs one request; transport failures are reported in `transport_error`, not thrown.
HttpResponse http_request(const HttpRequest& request);

/// Whether two absolute URLs share scheme, host and port: only then may credentials follow.
bool same_origin(const std::string& a, const std::string& b);

/// Percent-encodes everything but RFC 3986 unreserved characters (and '/' when `keep_slash`).
std::string url_quote(std::string_view text, bool keep_slash);

/// Throws the IoError for a hub error status (>= 400), naming `what` (repo, revision, file) and
/// adding the hub's X-Error-Message; `had_token` words the 401/403 advice.
[[noreturn]] void throw_hub_status(const HttpResponse& response, const std::string& what,
                                   bool had_token);

}  // namespace gemma::hub
