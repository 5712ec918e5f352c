#include "server/http.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <mutex>

#include "gemma/error.h"

namespace gemma::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;
using Clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  return fmt::format("{:.3f}", std::chrono::duration<double>(now.time_since_epoch()).count());
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

std::string_view HttpRequest::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  net::io_context& io;
  HttpLimits limits;
  HttpHandler handler;
  AccessLog log;
  tcp::acceptor acceptor;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> next_id{0};
  std::atomic<bool> accepting{false};

  State(net::io_context& io, HttpLimits limits, HttpHandler handler, AccessLog log)
      : io(io),
        limits(limits),
        handler(std::move(handler)),
        log(std::move(log)),
        acceptor(net::make_strand(io)) {}

  net::awaitable<void> accept_loop();
  net::awaitable<void> session(tcp::socket socket);
};

namespace {

// Writes through a beast::tcp_stream with the write deadline; tracks what the access log needs.
class StreamResponder final : public HttpResponder {
 public:
  StreamResponder(beast::tcp_stream& stream, const HttpLimits& limits, unsigned version,
                  bool keep_alive, std::string request_id)
      : stream_(stream),
        limits_(limits),
        version_(version),
        keep_alive_(keep_alive),
        id_(std::move(request_id)) {}
  ~StreamResponder() override { stop_watching(); }
  StreamResponder(const StreamResponder&) = delete;
  StreamResponder& operator=(const StreamResponder&) = delete;

  net::awaitable<void> send(int status, std::string_view content_type, std::string body,
                            const Headers& extra) override {
    http::response<http::string_body> res{static_cast<http::status>(status), version_};
    head(res, content_type, extra);
    res.body() = std::move(body);
    res.prepare_payload();
    res.keep_alive(keep_alive_);
    status_ = status;
    bytes_ = res.body().size();
    stream_.expires_after(limits_.write_timeout);
    try {
      co_await http::async_write(stream_, res, net::use_awaitable);
    } catch (const boost::system::system_error&) {
      keep_alive_ = false;
    }
    done_ = true;
  }

  net::awaitable<bool> start_stream(int status, std::string_view content_type,
                                    const Headers& extra) override {
    http::response<http::empty_body> res{static_cast<http::status>(status), version_};
    head(res, content_type, extra);
    res.set(http::field::cache_control, "no-cache");
    res.chunked(true);
    res.keep_alive(keep_alive_);
    status_ = status;
    http::response_serializer<http::empty_body> serializer{res};
    stream_.expires_after(limits_.write_timeout);
    try {
      co_await http::async_write_header(stream_, serializer, net::use_awaitable);
    } catch (const boost::system::system_error&) {
      gone_ = true;
    }
    co_return !gone_;
  }

  net::awaitable<bool> write(std::string_view piece) override {
    if (gone_ || piece.empty()) co_return !gone_;
    stream_.expires_after(limits_.write_timeout);
    try {
      co_await net::async_write(stream_, http::make_chunk(net::buffer(piece.data(), piece.size())),
                                net::use_awaitable);
      bytes_ += piece.size();
    } catch (const boost::system::system_error&) {
      gone_ = true;
    }
    co_return !gone_;
  }

  net::awaitable<void> finish() override {
    if (!gone_) {
      stream_.expires_after(limits_.write_timeout);
      try {
        co_await net::async_write(stream_, http::make_chunk_last(), net::use_awaitable);
      } catch (const boost::system::system_error&) {
        gone_ = true;
      }
    }
    done_ = true;
  }

  void watch_disconnect(std::function<void()> on_gone) override {
    stop_watching();
    watch_ = std::make_shared<Watch>(Watch{true, std::move(on_gone)});
    net::co_spawn(stream_.get_executor(), watch(stream_.socket(), watch_), net::detached);
  }

  // Ends a watch_disconnect() before the connection reads its next request (or closes).
  void stop_watching() {
    if (!watch_) return;
    watch_->active = false;
    watch_.reset();
    boost::system::error_code ignored;
    stream_.socket().cancel(ignored);
  }

  int status() const { return status_; }
  std::size_t bytes() const { return bytes_; }
  bool complete() const { return done_; }
  bool keep_alive() const { return keep_alive_ && !gone_; }

 private:
  template <class Response>
  void head(Response& res, std::string_view content_type, const Headers& extra) {
    res.set(http::field::server, "gemma");
    res.set(http::field::content_type, content_type);
    res.set("X-Request-Id", id_);
    for (const auto& [name, value] : extra) res.set(name, value);
  }

  struct Watch {
    bool active;
    std::function<void()> on_gone;
  };

  // A readable socket with nothing to read is a closed one; data (a pipelined request) is left
  // for the next read and ends the watch, since then the client is evidently still there. The
  // watch may outlive the responder (and the socket): it touches them only while still active,
  // which stop_watching() ends on the same strand.
  static net::awaitable<void> watch(tcp::socket& socket, std::shared_ptr<Watch> state) {
    boost::system::error_code ec;
    co_await socket.async_wait(tcp::socket::wait_read, net::redirect_error(net::use_awaitable, ec));
    if (ec || !state->active) co_return;
    char byte;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      state->active = false;
      state->on_gone();
    }
  }

  beast::tcp_stream& stream_;
  const HttpLimits& limits_;
  unsigned version_;
  bool keep_alive_;
  std::string id_;
  int status_ = 0;
  std::size_t bytes_ = 0;
  bool done_ = false, gone_ = false;
  std::shared_ptr<Watch> watch_;
};

// Responses the connection gives on its own, before a handler runs.
net::awaitable<void> refuse(beast::tcp_stream& stream, const HttpLimits& limits, int status,
                            std::string_view message) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "gemma");
  res.set(http::field::content_type, "application/json");
  res.body() = nlohmann::json{{"error",
                               {{"message", message},
                                {"type", "invalid_request_error"},
                                {"param", nullptr},
                                {"code", nullptr}}}}
                   .dump();
  res.prepare_payload();
  res.keep_alive(false);
  stream.expires_after(limits.write_timeout);
  try {
    co_await http::async_write(stream, res, net::use_awaitable);
  } catch (const boost::system::system_error&) {
  }
}

net::awaitable<void> refuse_body(beast::tcp_stream& stream, const HttpLimits& limits) {
  co_await refuse(
      stream, limits, 413,
      fmt::format("the request body is over the limit of {} bytes", limits.max_body_bytes));
}

// A client that went away or fell silent: nothing to answer.
bool quiet_end(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout ||
         ec == net::error::connection_reset || ec == net::error::eof ||
         ec == net::error::operation_aborted;
}

std::string remote_address(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : endpoint.address().to_string();
}

}  // namespace

net::awaitable<void> HttpServer::State::accept_loop() {
  auto self = shared_from_this();
  while (accepting) {
    tcp::socket socket(net::make_strand(io));
    try {
      co_await acceptor.async_accept(socket, net::use_awaitable);
    } catch (const boost::system::system_error& e) {
      if (!accepting) co_return;
      continue;  // e.g. EMFILE: the next accept may succeed once connections close
    }
    const auto executor = socket.get_executor();
    net::co_spawn(executor, session(std::move(socket)), net::detached);
  }
}

net::awaitable<void> HttpServer::State::session(tcp::socket socket) {
  auto self = shared_from_this();
  const auto remote = remote_address(socket);
  beast::tcp_stream stream(std::move(socket));
  struct Count {
    std::atomic<std::size_t>& n;
    ~Count() { --n; }
  } count{open};
  if (++open > limits.max_connections) {
    co_await refuse(stream, limits, 503, "the server has too many open connections");
    co_return;
  }
  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(limits.max_header_bytes);
    parser.body_limit(limits.max_body_bytes);
    stream.expires_after(first ? limits.header_timeout : limits.idle_timeout);
    boost::system::error_code ec;
    co_await http::async_read_header(stream, buffer, parser,
                                     net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (ec == http::error::header_limit) {
        co_await refuse(stream, limits, 431, "request headers are too large");
      } else if (ec == http::error::body_limit) {  // Content-Length over the limit
        co_await refuse_body(stream, limits);
      } else if (!quiet_end(ec)) {
        co_await refuse(stream, limits, 400, "malformed HTTP request");
      }
      break;
    }
    const auto& head = parser.get();
    if (iequals(std::string_view(head[http::field::expect]), "100-continue")) {
      http::response<http::empty_body> go_on{http::status::continue_, head.version()};
      stream.expires_after(limits.write_timeout);
      co_await http::async_write(stream, go_on, net::redirect_error(net::use_awaitable, ec));
      if (ec) break;
    }
    stream.expires_after(limits.body_timeout);
    co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (ec == http::error::body_limit) {  // a chunked body grew past it
        co_await refuse_body(stream, limits);
      } else if (!quiet_end(ec)) {
        co_await refuse(stream, limits, 400, "malformed HTTP request body");
      }
      break;
    }
    stream.expires_never();
    auto message = parser.release();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.remote = remote;
    request.id =
        fmt::format("req-{:x}-{}", Clock::now().time_since_epoch().count() & 0xffffff, ++next_id);
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    StreamResponder responder(stream, limits, message.version(), message.keep_alive(), request.id);
    const auto start = Clock::now();
    bool failed = false;
    try {
      co_await handler(request, responder);
    } catch (const std::exception&) {
      failed = true;  // a handler bug; the client gets a 500 below when nothing was sent
    }
    responder.stop_watching();
    if (failed && responder.status() == 0) {
      co_await responder.send(
          500, "application/json",
          R"({"error":{"message":"internal server error","type":"server_error",)"
          R"("param":null,"code":null}})",
          {});
    }
    if (log) {
      auto line = nlohmann::json{
          {"ts", timestamp()},
          {"id", request.id},
          {"remote", remote},
          {"method", request.method},
          {"path", std::string(request.path())},
          {"status", responder.status()},
          {"bytes", responder.bytes()},
          {"duration_ms", std::chrono::duration<double, std::milli>(Clock::now() - start).count()}};
      line.update(responder.log);
      log(line);
    }
    if (!responder.complete() || !responder.keep_alive() || !accepting) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.close();
}

HttpServer::HttpServer(net::io_context& io, HttpLimits limits, HttpHandler handler, AccessLog log)
    : state_(std::make_shared<State>(io, limits, std::move(handler), std::move(log))) {}

HttpServer::~HttpServer() { stop_accepting(); }

void HttpServer::listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {  // a name such as "localhost": its first address
    tcp::resolver resolver(state_->io);
    const auto found = resolver.resolve(host, "", ec);
    if (ec || found.empty()) {
      throw InvalidArgumentError(
          fmt::format("--host '{}' is neither an IP address nor a name that resolves", host));
    }
    address = found.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, port);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw IoError(fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
}

std::uint16_t HttpServer::port() const { return state_->acceptor.local_endpoint().port(); }

void HttpServer::start() {
  state_->accepting = true;
  net::co_spawn(state_->acceptor.get_executor(), state_->accept_loop(), net::detached);
}

void HttpServer::stop_accepting() {
  if (!state_->accepting.exchange(false)) return;
  net::post(state_->acceptor.get_executor(), [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
}

std::size_t HttpServer::connections() const { return state_->open; }

}  // namespace gemma::server
