// The server's HTTP layer on a loopback socket (limits, deadlines, keep-alive, streaming), the stop
// filter and the multipart parser.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "gemma/error.h"
#include "server/http.h"
#include "server/multipart.h"
#include "server/nvml.h"
#include "server/stop_filter.h"

namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
using gemma::server::HttpRequest;
using gemma::server::HttpResponder;

// An HttpServer on 127.0.0.1 with a handler that echoes the body, or streams three pieces for
// /stream; runs on its own thread for the test's lifetime.
class TestServer {
 public:
  explicit TestServer(gemma::server::HttpLimits limits)
      : server_(io_, limits,
                [](const HttpRequest& request, HttpResponder& out) -> net::awaitable<void> {
                  co_await handle(request, out);
                }) {
    server_.listen("127.0.0.1", 0);
    server_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return server_.port(); }

 private:
  static net::awaitable<void> handle(const HttpRequest& request, HttpResponder& out) {
    if (request.path() == "/stream") {
      co_await out.start_stream(200, "text/event-stream");
      for (const char* piece : {"data: 1\n\n", "data: 2\n\n", "data: 3\n\n"}) {
        co_await out.write(piece);
      }
      co_await out.finish();
      co_return;
    }
    co_await out.send(200, "text/plain",
                      request.method + " " + request.target + " " +
                          std::string(request.header("x-test")) + " " + request.body);
  }

  net::io_context io_;
  gemma::server::HttpServer server_;
  std::thread thread_;
};

// A blocking client socket with a receive timeout, so that a broken server fails the test instead
// of hanging it.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~Client() { ::close(fd_); }
  void send(const std::string& data) {
    REQUIRE(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(data.size()));
  }
  // Everything until the server closes the connection (or the timeout).
  std::string read_all() {
    std::string out;
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buffer, sizeof buffer, 0)) > 0) out.append(buffer, n);
    return out;
  }
  // Reads until `marker` has arrived.
  std::string read_until(const std::string& marker) {
    std::string out;
    char buffer[4096];
    while (out.find(marker) == std::string::npos) {
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      out.append(buffer, n);
    }
    return out;
  }

 private:
  int fd_;
};

std::string post(const std::string& body, const std::string& extra = "") {
  return "POST /echo?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra + "\r\n" + body;
}

}  // namespace

TEST_CASE("HTTP: requests, keep-alive and header lookup", "[server][unit]") {
  TestServer server({});
  Client client(server.port());
  client.send(post("one", "X-Test: yes\r\n"));
  auto first = client.read_until("one");
  CHECK(first.starts_with("HTTP/1.1 200"));
  CHECK(first.find("X-Request-Id: req-") != std::string::npos);
  CHECK(first.find("POST /echo?q=1 yes one") != std::string::npos);
  client.send(post("two") + post("three"));  // pipelined on the same connection
  auto rest = client.read_until("three");
  CHECK(rest.find("POST /echo?q=1  two") != std::string::npos);
  CHECK(rest.find("POST /echo?q=1  three") != std::string::npos);
}

TEST_CASE("HTTP: bodies over the limit get 413, chunked ones too", "[server][unit]") {
  gemma::server::HttpLimits limits;
  limits.max_body_bytes = 1000;
  TestServer server(limits);
  {
    Client client(server.port());
    client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n");
    const auto reply = client.read_all();  // answered at once, without waiting for the body
    CHECK(reply.starts_with("HTTP/1.1 413"));
    CHECK(reply.find("over the limit of 1000 bytes") != std::string::npos);
  }
  {
    Client client(server.port());
    std::string chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i) chunked += "64\r\n" + std::string(100, 'a') + "\r\n";
    chunked += "0\r\n\r\n";
    client.send(chunked);
    CHECK(client.read_all().starts_with("HTTP/1.1 413"));
  }
  {
    Client client(server.port());
    client.send(post(std::string(1000, 'b')));
    CHECK(client.read_until(std::string(1000, 'b')).starts_with("HTTP/1.1 200"));
  }
}

TEST_CASE("HTTP: oversized or malformed headers are refused", "[server][unit]") {
  gemma::server::HttpLimits limits;
  limits.max_header_bytes = 2048;
  TestServer server(limits);
  {
    Client client(server.port());
    client.send("GET / HTTP/1.1\r\nX-Big: " + std::string(10000, 'x') + "\r\n\r\n");
    CHECK(client.read_all().starts_with("HTTP/1.1 431"));
  }
  {
    Client client(server.port());
    client.send("NOT HTTP AT ALL\r\n\r\n");
    CHECK(client.read_all().starts_with("HTTP/1.1 400"));
  }
}

TEST_CASE("HTTP: a client that sends too slowly is dropped at the deadline", "[server][unit]") {
  gemma::server::HttpLimits limits;
  limits.header_timeout = 300ms;
  TestServer server(limits);
  Client client(server.port());
  client.send("GET / HTTP/1.1\r\nHost");  // and then nothing
  const auto start = std::chrono::steady_clock::now();
  CHECK(client.read_all().empty());  // closed without an answer
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("HTTP: streamed responses arrive as chunks", "[server][unit]") {
  TestServer server({});
  Client client(server.port());
  client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto reply = client.read_until("0\r\n\r\n");
  CHECK(reply.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(reply.find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(reply.find("data: 1\n\n") < reply.find("data: 3\n\n"));
}

TEST_CASE("HTTP: connections over the cap get 503", "[server][unit]") {
  gemma::server::HttpLimits limits;
  limits.max_connections = 2;
  TestServer server(limits);
  Client a(server.port()), b(server.port());
  a.send(post("a"));
  CHECK(a.read_until("a").starts_with("HTTP/1.1 200"));
  b.send(post("b"));
  CHECK(b.read_until(" b").starts_with("HTTP/1.1 200"));
  Client c(server.port());
  CHECK(c.read_all().starts_with("HTTP/1.1 503"));
}

TEST_CASE("StopFilter ends the text before the first stop string", "[server][unit]") {
  gemma::server::StopFilter filter({"END", "\n\n"});
  bool stopped = false;
  CHECK(filter.push("Hello E", stopped) == "Hello ");  // "E" might begin "END"
  CHECK_FALSE(stopped);
  CHECK(filter.push("ND of it", stopped).empty());
  CHECK(stopped);

  gemma::server::StopFilter other({"END"});
  stopped = false;
  CHECK(other.push("EN", stopped).empty());
  CHECK(other.push("ough", stopped) == "ENough");
  CHECK(other.push(" EN", stopped) == " ");
  CHECK(other.flush() == "EN");
  CHECK_FALSE(stopped);

  gemma::server::StopFilter none({});
  CHECK(none.push("anything", stopped) == "anything");
}

TEST_CASE("multipart/form-data parts are found; malformed bodies are refused", "[server][unit]") {
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ntiny\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.wav\"\r\n"
      "Content-Type: audio/wav\r\n\r\nRIFF\r\n--not-the-boundary\r\n"
      "--XyZ--\r\n";
  const auto parts = gemma::server::parse_multipart("multipart/form-data; boundary=XyZ", body);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].name == "model");
  CHECK(parts[0].data == "tiny");
  CHECK(parts[1].name == "file");
  CHECK(parts[1].filename == "a b.wav");
  CHECK(parts[1].content_type == "audio/wav");
  CHECK(parts[1].data == "RIFF\r\n--not-the-boundary");
  CHECK(gemma::server::parse_multipart("multipart/form-data; boundary=\"XyZ\"", body).size() == 2);

  using gemma::InvalidArgumentError;
  using gemma::server::parse_multipart;
  CHECK_THROWS_AS(parse_multipart("application/json", body), InvalidArgumentError);
  CHECK_THROWS_AS(parse_multipart("multipart/form-data", body), InvalidArgumentError);
  CHECK_THROWS_AS(parse_multipart("multipart/form-data; boundary=XyZ", "--XyZ\r\nno end"),
                  InvalidArgumentError);
  CHECK_THROWS_AS(parse_multipart("multipart/form-data; boundary=XyZ", "nothing"),
                  InvalidArgumentError);
  std::string many;
  for (int i = 0; i < 100; ++i)
    many += "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n";
  CHECK_THROWS_AS(parse_multipart("multipart/form-data; boundary=XyZ", many + "--XyZ--"),
                  InvalidArgumentError);
}

TEST_CASE("GPU utilisation is absent without NVML or the device, never an error",
          "[server][unit]") {
  CHECK_FALSE(gemma::server::gpu_utilization(-1));
  const auto busy = gemma::server::gpu_utilization(0);  // nullopt here: CI has no GPU driver
  if (busy) CHECK((*busy >= 0 && *busy <= 1));
}
