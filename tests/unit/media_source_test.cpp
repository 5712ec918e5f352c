#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "gemma/error.h"
#include "media/source.h"
#include "support/paths.h"

using gemma::IoError;
using gemma::media::read_media;

// A TCP socket listening on a free loopback port, closed on scope exit.
class LoopbackListener {
 public:
  LoopbackListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~LoopbackListener() { ::close(fd_); }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;

  int fd() const { return fd_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  int fd_;
  int port_ = 0;
};

gemma::MediaLimits limit_bytes(std::uint64_t bytes) {
  gemma::MediaLimits limits;
  limits.max_bytes = bytes;
  return limits;
}

TEST_CASE("read_media decodes base64 and percent-encoded data URIs", "[media]") {
  CHECK(read_media("data:image/png;base64,aGVsbG8gd29ybGQ=", "image").bytes == "hello world");
  CHECK(read_media("data:image/png;base64,aGVs\nbG8", "image").bytes == "hello");
  CHECK(read_media("data:audio/wav;base64,-_8", "audio").bytes == "\xfb\xff");
  CHECK(read_media("data:,a%20b%2Cc", "image").bytes == "a b,c");
  CHECK(read_media("data:image/png;base64,aGVsbG8gd29ybGQ=", "image").name ==
        "image data:image/png URI");
}

TEST_CASE("read_media refuses malformed data URIs, naming the input", "[media]") {
  CHECK_THROWS_WITH(read_media("data:image/png;base64", "image"),
                    Catch::Contains("image data:image/png URI") && Catch::Contains("no ','"));
  CHECK_THROWS_WITH(read_media("data:image/png;base64,aGV*bG8", "image"),
                    Catch::Contains("invalid base64"));
  CHECK_THROWS_WITH(read_media("data:image/png;base64,a", "image"), Catch::Contains("truncated"));
  CHECK_THROWS_WITH(read_media("data:,a%2", "image"), Catch::Contains("percent-encoding"));
  CHECK_THROWS_WITH(read_media("data:image/png;base64,", "image"), Catch::Contains("0 bytes"));
  CHECK_THROWS_AS(read_media("data:image/png;base64,aGVsbG8gd29ybGQ=", "image", limit_bytes(4)),
                  IoError);
}

TEST_CASE("read_media reads files and file:// URLs with a size limit", "[media]") {
  const auto dir = gemma::test::scratch_dir("media_source");
  const auto path = dir / "a b.bin";
  std::ofstream(path, std::ios::binary) << "12345";
  CHECK(read_media(path.string(), "image").bytes == "12345");
  CHECK(read_media("file://" + (dir / "a%20b.bin").string(), "image").bytes == "12345");
  CHECK_THROWS_WITH(
      read_media(path.string(), "audio", limit_bytes(4)),
      Catch::Contains("audio file") && Catch::Contains("a b.bin") && Catch::Contains("limit"));
  CHECK_THROWS_WITH(read_media((dir / "missing.png").string(), "image"),
                    Catch::Contains("missing.png"));
  std::ofstream(dir / "empty.png", std::ios::binary).flush();
  CHECK_THROWS_WITH(read_media((dir / "empty.png").string(), "image"), Catch::Contains("0 bytes"));
  CHECK_THROWS_WITH(read_media("", "video"), Catch::Contains("video source is empty"));
}

TEST_CASE("read_media names an unreachable URL without its query", "[media]") {
  CHECK_THROWS_WITH(read_media("http://127.0.0.1:9/cat.png?token=secret", "image"),
                    Catch::Contains("http://127.0.0.1:9/cat.png") && !Catch::Contains("secret"));
}

TEST_CASE("read_media gives up on a server that never answers", "[media]") {
  // A listening socket completes the TCP handshake in the kernel and then says nothing.
  const LoopbackListener listener;
  const auto url = listener.url("/cat.png");
  gemma::MediaLimits limits;
  limits.http_timeout_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(read_media(url, "image", limits),
                    Catch::Contains("no complete answer within 1 s"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("read_media stops a download at max_bytes while it streams", "[media]") {
  // A server that sends a body without end: the transfer must stop at the cap, not at the end.
  const LoopbackListener listener;
  std::thread server([fd = listener.fd()] {
    const int client = ::accept(fd, nullptr, nullptr);
    if (client < 0) return;
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n";
    ::send(client, head.data(), head.size(), MSG_NOSIGNAL);
    const std::string chunk(1 << 16, 'x');
    for (int i = 0; i < 1 << 14; ++i) {  // 1 GiB at most; the client hangs up long before
      if (::send(client, chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) break;
    }
    ::close(client);
  });
  gemma::MediaLimits limits;
  limits.max_bytes = 100000;
  CHECK_THROWS_WITH(read_media(listener.url("/endless.png"), "image", limits),
                    Catch::Contains("endless.png: response exceeds the 100000 bytes limit"));
  server.join();
}
