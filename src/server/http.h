#pragma once
// HTTP/1.1 for `gemma serve` on Boost.Beast with C++20 coroutines: one coroutine per connection on
// its own strand, every read and write under a deadline (a client that sends nothing, or a header
// a byte a minute, is dropped), header and body caps enforced while parsing (chunked bodies
// included: 413 before the body is read when Content-Length is too large), a cap on open
// connections, keep-alive, and streaming responses (chunked transfer, for SSE).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gemma::server {

namespace net = boost::asio;

struct HttpLimits {
  std::uint64_t max_body_bytes = std::uint64_t{32} << 20;
  std::uint32_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds header_timeout{30'000};  // the request line and headers
  std::chrono::milliseconds body_timeout{120'000};   // the body, once the headers are in
  std::chrono::milliseconds idle_timeout{60'000};    // between keep-alive requests
  std::chrono::milliseconds write_timeout{60'000};   // each write of a response
  std::size_t max_connections = 512;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string body;
  std::string remote;  // the client's address
  std::string id;      // request id: X-Request-Id of the response and of the access log
  Headers headers;
  // The value of header `name` (case-insensitive), empty when absent.
  std::string_view header(std::string_view name) const;
  std::string_view path() const;  // target without the query
};

// How a handler answers: one whole response, or a stream (status and headers, then pieces).
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  virtual net::awaitable<void> send(int status, std::string_view content_type, std::string body,
                                    const Headers& extra = {}) = 0;
  // Starts a chunked response; write() is false once the client is gone (the rest is dropped).
  virtual net::awaitable<bool> start_stream(int status, std::string_view content_type,
                                            const Headers& extra = {}) = 0;
  virtual net::awaitable<bool> write(std::string_view piece) = 0;
  virtual net::awaitable<void> finish() = 0;
  // Calls `on_gone` (on the connection's strand) if the client closes the connection before the
  // response is complete; for handlers that compute before they write anything.
  virtual void watch_disconnect(std::function<void()> on_gone) = 0;
  // Fields added to this request's access-log line (token counts, timings).
  nlohmann::json log = nlohmann::json::object();
};

using HttpHandler = std::function<net::awaitable<void>(const HttpRequest&, HttpResponder&)>;

// Access-log sink: one JSON object per request; called from the I/O threads.
using AccessLog = std::function<void(const nlohmann::json&)>;

class HttpServer {
 public:
  HttpServer(net::io_context& io, HttpLimits limits, HttpHandler handler, AccessLog log = {});
  ~HttpServer();
  // Binds and listens (IoError naming the address when that fails); port 0 picks a free port.
  void listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  // Starts accepting on the io_context (which the caller runs).
  void start();
  // Stops accepting; requests in progress go on. Thread-safe.
  void stop_accepting();
  // Connections open now.
  std::size_t connections() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace gemma::server
