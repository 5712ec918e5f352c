#include "server/auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "gemma/error.h"
#include "util/files.h"
#include "util/hex.h"

namespace gemma::server {

namespace {

using Digest = std::array<unsigned char, 32>;

constexpr std::uint64_t kMaxKeyFileBytes = std::uint64_t{1} << 20;
constexpr std::uint64_t kMaxSecretBytes = std::uint64_t{64} << 10;
// Optional whitespace around header values (RFC 9110) and, for files, CRLF line ends.
constexpr std::string_view kHeaderSpace = " \t";
constexpr std::string_view kLineSpace = " \t\r";

std::string_view trim(std::string_view text, std::string_view space) {
  const auto begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(space) - begin + 1);
}

// Bytes that an HTTP header value cannot carry inside one token: spaces, tabs, controls.
bool is_valid_key(std::string_view key) {
  return !key.empty() && std::none_of(key.begin(), key.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
}

Digest sha256(std::string_view data) {
  Digest digest{};
  // A failure would leave a digest of zeros that every other failure matches.
  if (SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data()) ==
      nullptr) {
    throw InternalError("SHA-256 failed");
  }
  return digest;
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    hex += kDigits[bytes[i] >> 4];
    hex += kDigits[bytes[i] & 0xf];
  }
  return hex;
}

// The digest spelled by exactly 64 hex digits, either case.
std::optional<Digest> parse_hex_digest(std::string_view hex) {
  Digest digest{};
  if (hex.size() != digest.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int high = util::hex_value(hex[2 * i]);
    const int low = util::hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return digest;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

// The token of "Bearer <token>"; auth schemes are case-insensitive (RFC 9110 11.1).
std::optional<std::string_view> bearer_token(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  header = trim(header, kHeaderSpace);
  if (!starts_with_ignoring_case(header, kScheme) || header.size() == kScheme.size() ||
      kHeaderSpace.find(header[kScheme.size()]) == std::string_view::npos) {
    return std::nullopt;
  }
  const auto token = trim(header.substr(kScheme.size()), kHeaderSpace);
  if (!is_valid_key(token)) return std::nullopt;
  return token;
}

}  // namespace

void ApiKeys::add(std::string key) {
  // The message leaves the key out: it is a secret, and errors end up in logs.
  if (!is_valid_key(key)) {
    throw InvalidArgumentError(
        "an API key must be non-empty, without spaces or control characters");
  }
  const Digest digest = sha256(key);
  keys_.push_back({digest, "key-" + to_hex(digest.data(), 4)});
}

bool ApiKeys::empty() const { return keys_.empty(); }

std::optional<std::string> ApiKeys::check(std::string_view authorization_header) const {
  const auto token = bearer_token(authorization_header);
  if (!token) return std::nullopt;
  const Digest digest = sha256(*token);
  // Every key is compared, without stopping at a match, so timing does not tell which one matched.
  const Key* match = nullptr;
  for (const Key& key : keys_) {
    if (CRYPTO_memcmp(digest.data(), key.digest.data(), digest.size()) == 0) match = &key;
  }
  if (match == nullptr) return std::nullopt;
  return match->id;
}

std::vector<std::string> read_api_key_file(const std::filesystem::path& path) {
  const std::string text = util::read_file(path, kMaxKeyFileBytes);
  std::vector<std::string> keys;
  std::size_t line_number = 0;
  for (std::string_view rest = text; !rest.empty();) {
    const auto end = rest.find('\n');
    const auto line = trim(rest.substr(0, end), kLineSpace);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    if (!is_valid_key(line)) {
      throw InvalidArgumentError(
          fmt::format("{}:{}: an API key must not contain spaces or control characters",
                      path.string(), line_number));
    }
    keys.emplace_back(line);
  }
  if (keys.empty()) throw InvalidArgumentError(fmt::format("{} holds no API key", path.string()));
  return keys;
}

BodySigner::BodySigner(std::string secret) : secret_(std::move(secret)) {
  if (secret_.empty()) throw InvalidArgumentError("the signing secret is empty");
  if (secret_.size() > kMaxSecretBytes) {
    throw InvalidArgumentError(
        fmt::format("the signing secret is longer than {}", util::format_bytes(kMaxSecretBytes)));
  }
}

Digest BodySigner::mac(std::string_view body) const {
  Digest digest{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest.data(),
           &size) == nullptr ||
      size != digest.size()) {
    throw InternalError("HMAC-SHA256 failed");
  }
  return digest;
}

std::string BodySigner::sign(std::string_view body) const {
  const Digest digest = mac(body);
  return to_hex(digest.data(), digest.size());
}

bool BodySigner::verify(std::string_view body, std::string_view signature_header) const {
  constexpr std::string_view kPrefix = "sha256=";
  auto hex = trim(signature_header, kHeaderSpace);
  if (starts_with_ignoring_case(hex, kPrefix)) hex.remove_prefix(kPrefix.size());
  // The header's length and hex syntax are public; only the digest comparison involves the secret.
  const auto claimed = parse_hex_digest(hex);
  if (!claimed) return false;
  const Digest expected = mac(body);
  return CRYPTO_memcmp(claimed->data(), expected.data(), expected.size()) == 0;
}

std::string read_secret_file(const std::filesystem::path& path) {
  std::string secret = util::read_file(path, kMaxSecretBytes);
  // Editors and `echo` end files with a newline that is not part of the secret.
  if (secret.ends_with('\n')) {
    secret.pop_back();
    if (secret.ends_with('\r')) secret.pop_back();
  }
  if (secret.empty()) throw InvalidArgumentError(fmt::format("{} is empty", path.string()));
  return secret;
}

}  // namespace gemma::server
