#include <sys/stat.h>
#include <sys/types.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <fstream>
#include <functional>

#include "gemma/error.h"
#include "server/auth.h"
#include "support/paths.h"

namespace {

namespace fs = std::filesystem;
using gemma::InvalidArgumentError;
using gemma::IoError;
using gemma::server::ApiKeys;
using gemma::server::BodySigner;

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const gemma::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("ApiKeys accepts a Bearer header naming a known key", "[server][auth]") {
  ApiKeys keys;
  CHECK(keys.empty());
  CHECK_FALSE(keys.check("Bearer anything"));
  keys.add("sk-secret-one");
  keys.add("sk-secret-two");
  CHECK_FALSE(keys.empty());

  const auto one = keys.check("Bearer sk-secret-one");
  const auto two = keys.check("Bearer sk-secret-two");
  REQUIRE(one);
  REQUIRE(two);
  // "key-" and the first 8 hex digits of sha256("sk-secret-one"): no part of the key itself.
  CHECK(one->starts_with("key-"));
  CHECK(one->size() == 12);
  CHECK(one->find("secret") == std::string::npos);
  CHECK(*one != *two);
  CHECK(keys.check("Bearer sk-secret-one") == one);
}

TEST_CASE("ApiKeys parses the Authorization header strictly but tolerates spacing",
          "[server][auth]") {
  ApiKeys keys;
  keys.add("abc123");
  const auto id = keys.check("Bearer abc123");
  REQUIRE(id);

  // The scheme is case-insensitive; spaces and tabs around the key do not matter.
  CHECK(keys.check("bearer abc123") == id);
  CHECK(keys.check("BEARER abc123") == id);
  CHECK(keys.check("Bearer    abc123") == id);
  CHECK(keys.check("  Bearer\tabc123 \t") == id);

  CHECK_FALSE(keys.check(""));
  CHECK_FALSE(keys.check("Bearer"));
  CHECK_FALSE(keys.check("Bearer "));
  CHECK_FALSE(keys.check("Bearerabc123"));
  CHECK_FALSE(keys.check("Basic abc123"));
  CHECK_FALSE(keys.check("abc123"));
  CHECK_FALSE(keys.check("Bearer abc123 extra"));
  CHECK_FALSE(keys.check("Bearer unknown"));
  // Neither a prefix nor an extension of a valid key matches.
  CHECK_FALSE(keys.check("Bearer abc12"));
  CHECK_FALSE(keys.check("Bearer abc1234"));
  CHECK_FALSE(keys.check(std::string("Bearer abc123\0x", 15)));
}

TEST_CASE("ApiKeys refuses keys that a header could not carry", "[server][auth]") {
  ApiKeys keys;
  CHECK_THROWS_AS(keys.add(""), InvalidArgumentError);
  CHECK_THROWS_AS(keys.add("two words"), InvalidArgumentError);
  CHECK_THROWS_AS(keys.add("tab\there"), InvalidArgumentError);
  CHECK_THROWS_AS(keys.add("line\n"), InvalidArgumentError);
  CHECK_THROWS_AS(keys.add(std::string("nul\0", 4)), InvalidArgumentError);
  CHECK_THROWS_AS(keys.add("del\x7f"), InvalidArgumentError);
  // The message does not repeat the secret.
  const std::string error = error_of([&] { keys.add("my-key with-space"); });
  CHECK(error.starts_with("[gemma.invalid_argument]"));
  CHECK(error.find("my-key") == std::string::npos);
  CHECK(keys.empty());
}

TEST_CASE("read_api_key_file skips comments and blank lines", "[server][auth]") {
  const fs::path dir = gemma::test::scratch_dir("server_auth_keys");
  const fs::path file = dir / "keys.txt";
  write_file(file, "# team keys\n\nsk-alpha\n  sk-beta  \r\n\t# indented comment\nsk-gamma");
  CHECK(gemma::server::read_api_key_file(file) ==
        std::vector<std::string>{"sk-alpha", "sk-beta", "sk-gamma"});

  write_file(file, "sk-alpha\n# comment\nsk bad\n");
  const std::string error = error_of([&] { gemma::server::read_api_key_file(file); });
  CHECK(error.starts_with("[gemma.invalid_argument]"));
  CHECK(error.find(file.string() + ":3:") != std::string::npos);
  CHECK(error.find("sk bad") == std::string::npos);

  // A file without keys would leave the server open to anyone.
  write_file(file, "# nothing yet\n\n");
  CHECK_THROWS_AS(gemma::server::read_api_key_file(file), InvalidArgumentError);
}

TEST_CASE("read_api_key_file refuses what is not a small regular file", "[server][auth]") {
  const fs::path dir = gemma::test::scratch_dir("server_auth_refusals");
  CHECK_THROWS_AS(gemma::server::read_api_key_file(dir / "missing"), IoError);
  CHECK_THROWS_AS(gemma::server::read_api_key_file(dir), IoError);

  // A FIFO without a writer: opening it for reading would block forever.
  const fs::path fifo = dir / "keys.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string error = error_of([&] { gemma::server::read_api_key_file(fifo); });
  CHECK(error.starts_with("[gemma.io]"));
  CHECK(error.find(fifo.string()) != std::string::npos);

  const fs::path big = dir / "big.txt";
  write_file(big, std::string((1 << 20) + 1, 'k'));
  CHECK_THROWS_AS(gemma::server::read_api_key_file(big), IoError);
}

TEST_CASE("BodySigner computes HMAC-SHA256 as RFC 4231 does", "[server][auth]") {
  // RFC 4231, test case 2.
  const BodySigner signer("Jefe");
  const std::string expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  CHECK(signer.sign("what do ya want for nothing?") == expected);
  CHECK_THROWS_AS(BodySigner(""), InvalidArgumentError);
}

TEST_CASE("BodySigner verifies bare and prefixed hex in either case", "[server][auth]") {
  const BodySigner signer("Jefe");
  const std::string body = "what do ya want for nothing?";
  const std::string hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  CHECK(signer.verify(body, hex));
  CHECK(signer.verify(body, upper));
  CHECK(signer.verify(body, "sha256=" + hex));
  CHECK(signer.verify(body, "SHA256=" + upper));
  CHECK(signer.verify(body, " " + hex + " "));

  CHECK_FALSE(signer.verify(body + " ", hex));
  CHECK_FALSE(BodySigner("jefe").verify(body, hex));
  CHECK_FALSE(signer.verify(body, ""));
  CHECK_FALSE(signer.verify(body, "sha256="));
  CHECK_FALSE(signer.verify(body, hex.substr(0, 63)));
  CHECK_FALSE(signer.verify(body, hex + "0"));
  CHECK_FALSE(signer.verify(body, "sha1=" + hex));
  CHECK_FALSE(signer.verify(body, hex.substr(0, 62) + "zz"));
  CHECK_FALSE(signer.verify(body, hex.substr(0, 63) + "4"));
  CHECK(signer.verify("", signer.sign("")));
}

TEST_CASE("read_secret_file strips one trailing newline", "[server][auth]") {
  const fs::path dir = gemma::test::scratch_dir("server_auth_secret");
  const fs::path file = dir / "secret";
  write_file(file, "s3cret\n");
  CHECK(gemma::server::read_secret_file(file) == "s3cret");
  write_file(file, "s3cret\r\n");
  CHECK(gemma::server::read_secret_file(file) == "s3cret");
  write_file(file, " s3cret \n\n");
  CHECK(gemma::server::read_secret_file(file) == " s3cret \n");

  write_file(file, "\n");
  const std::string error = error_of([&] { gemma::server::read_secret_file(file); });
  CHECK(error.starts_with("[gemma.invalid_argument]"));
  CHECK(error.find(file.string()) != std::string::npos);

  CHECK_THROWS_AS(gemma::server::read_secret_file(dir), IoError);
  write_file(file, std::string((64 << 10) + 1, 's'));
  CHECK_THROWS_AS(gemma::server::read_secret_file(file), IoError);
}
