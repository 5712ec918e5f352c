#pragma once
// API keys and request signatures for `gemma serve`. Secrets are compared in constant time, and no
// error message or identifier ever contains a secret.
#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gemma::server {

/// The accepted API keys. Keys are compared in constant time: CRYPTO_memcmp over SHA-256 digests of
/// both sides, so neither the content nor the length of a key leaks through timing. Configure with
/// add() before serving; check() is const and safe to call from several threads at once.
class ApiKeys {
 public:
  /// No keys: the server lets every request through (callers test empty()).
  ApiKeys() = default;

  /// InvalidArgumentError for an empty key or one with whitespace or control characters, which
  /// could never arrive intact in an Authorization header.
  void add(std::string key);

  bool empty() const;

  /// The key named by an Authorization header value "Bearer <key>" (scheme case-insensitive, any
  /// spaces around the key); nullopt when the value is missing, malformed or names no known key
  /// (always, when there are no keys). The result identifies the key without revealing it, to log
  /// and rate-limit by: "key-" + the first 8 hex digits of its SHA-256.
  std::optional<std::string> check(std::string_view authorization_header) const;

 private:
  struct Key {
    std::array<unsigned char, 32> digest;
    std::string id;
  };
  std::vector<Key> keys_;
};

/// Keys from a file, one per line; blank lines and lines starting with '#' are skipped, and spaces
/// around a key ignored. IoError (not a regular file, over 1 MiB, unreadable) naming the file;
/// InvalidArgumentError naming the file and line for a malformed key, or the file when it holds
/// no key at all (which would otherwise leave the server open).
std::vector<std::string> read_api_key_file(const std::filesystem::path& path);

/// Request signatures: hex(HMAC-SHA256(secret, body)), as the recipe's hexdigest. Thread-safe.
class BodySigner {
 public:
  /// InvalidArgumentError when `secret` is empty.
  explicit BodySigner(std::string secret);

  /// Lowercase hex.
  std::string sign(std::string_view body) const;

  /// Whether `signature_header` holds the body's signature, compared in constant time: the bare
  /// hex or "sha256=<hex>", hex digits in either case, spaces around it ignored.
  bool verify(std::string_view body, std::string_view signature_header) const;

 private:
  std::array<unsigned char, 32> mac(std::string_view body) const;
  std::string secret_;
};

/// A secret file's content, less one trailing newline. IoError (not a regular file, over 64 KiB,
/// unreadable) or InvalidArgumentError (empty) naming the file.
std::string read_secret_file(const std::filesystem::path& path);

}  // namespace gemma::server
