#pragma once
// Typed reads from one JSON object of a config file. Every failure throws ConfigError naming the
// file and the JSON path of the field ("config.json: text_config.head_dim: expected an integer, got
// string \"256\""), so a user can fix the file without reading our source.
#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gemma/error.h"
#include "util/json.h"

namespace gemma::io {

using Json = nlohmann::json;

/// "text_config" + "head_dim" -> "text_config.head_dim"; the root object has the empty path.
inline std::string join_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

inline std::string index_path(std::string_view parent, size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

[[noreturn]] inline void fail_config(std::string_view source, std::string_view path,
                                     std::string_view message) {
  if (path.empty()) throw ConfigError(fmt::format("{}: {}", source, message));
  throw ConfigError(fmt::format("{}: {}: {}", source, path, message));
}

/// `number 1.5`, `string "abc"`, ...: the offending value as shown in messages, cut to stay short.
inline std::string describe_json(const Json& value) {
  constexpr size_t kMaxChars = 60;
  // `replace` keeps dump() from throwing on invalid UTF-8 inside a string.
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars) + "...";
  return fmt::format("{} {}", value.type_name(), text);
}

/// The parsed document; a syntax error becomes a ConfigError naming `source`.
inline Json parse_json(std::string_view text, std::string_view source) {
  return util::parse_json<ConfigError>(text, source);
}

/// Conversions of single values; `path` names the value in messages.
class JsonValue {
 public:
  JsonValue(const Json& value, std::string_view source, std::string path)
      : value_(value), source_(source), path_(std::move(path)) {}

  const Json& raw() const { return value_; }
  const std::string& path() const { return path_; }
  std::string_view source() const { return source_; }

  [[noreturn]] void fail(std::string_view message) const { fail_config(source_, path_, message); }

  [[noreturn]] void fail_type(std::string_view expected) const {
    fail(fmt::format("expected {}, got {}", expected, describe_json(value_)));
  }

  int64_t as_int() const {
    if (value_.is_number_unsigned()) {
      const auto v = value_.get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail(fmt::format("integer {} is out of range", v));
      }
      return static_cast<int64_t>(v);
    }
    if (!value_.is_number_integer()) fail_type("an integer");
    return value_.get<int64_t>();
  }

  double as_double() const {
    if (!value_.is_number()) fail_type("a number");
    return value_.get<double>();
  }

  bool as_bool() const {
    if (!value_.is_boolean()) fail_type("a boolean");
    return value_.get<bool>();
  }

  std::string as_string() const {
    if (!value_.is_string()) fail_type("a string");
    return value_.get<std::string>();
  }

  template <typename Convert>
  auto as_list(Convert convert) const {
    if (!value_.is_array()) fail_type("an array");
    std::vector<decltype(convert(std::declval<const JsonValue&>()))> out;
    out.reserve(value_.size());
    for (size_t i = 0; i < value_.size(); ++i) {
      out.push_back(convert(JsonValue(value_[i], source_, index_path(path_, i))));
    }
    return out;
  }

  std::vector<int64_t> as_int_list() const {
    return as_list([](const JsonValue& v) { return v.as_int(); });
  }
  std::vector<double> as_double_list() const {
    return as_list([](const JsonValue& v) { return v.as_double(); });
  }
  std::vector<std::string> as_string_list() const {
    return as_list([](const JsonValue& v) { return v.as_string(); });
  }

  /// HF token-id fields such as eos_token_id take an int or a list of ints.
  std::vector<int64_t> as_int_or_int_list() const {
    if (value_.is_array()) return as_int_list();
    if (!value_.is_number_integer()) fail_type("an integer or an array of integers");
    return {as_int()};
  }

 private:
  const Json& value_;
  std::string_view source_;
  std::string path_;
};

/// One JSON object with typed getters. "Absent" below means missing or null unless stated: HF
/// serialises unset optional fields as null, and the class defaults then apply.
class JsonObject {
 public:
  JsonObject(const Json& object, std::string_view source, std::string path)
      : object_(object), source_(source), path_(std::move(path)) {
    if (!object_.is_object()) JsonValue(object_, source_, path_).fail_type("an object");
  }

  const Json& raw() const { return object_; }
  const std::string& path() const { return path_; }
  std::string_view source() const { return source_; }
  std::string path_of(std::string_view key) const { return join_path(path_, key); }

  /// Present and not null.
  bool has(std::string_view key) const {
    const auto it = object_.find(key);
    return it != object_.end() && !it->is_null();
  }

  /// Present, possibly null (to tell an explicit null from a missing key).
  bool contains(std::string_view key) const { return object_.find(key) != object_.end(); }

  /// The value of `key`; the caller has checked has(key).
  JsonValue at(std::string_view key) const {
    return JsonValue(*object_.find(key), source_, path_of(key));
  }

  [[noreturn]] void fail(std::string_view key, std::string_view message) const {
    fail_config(source_, path_of(key), message);
  }
  [[noreturn]] void fail_here(std::string_view message) const {
    fail_config(source_, path_, message);
  }

  int64_t get_int(std::string_view key, int64_t fallback) const {
    return has(key) ? at(key).as_int() : fallback;
  }
  double get_double(std::string_view key, double fallback) const {
    return has(key) ? at(key).as_double() : fallback;
  }
  bool get_bool(std::string_view key, bool fallback) const {
    return has(key) ? at(key).as_bool() : fallback;
  }
  std::string get_string(std::string_view key, std::string fallback) const {
    return has(key) ? at(key).as_string() : std::move(fallback);
  }

  /// For fields HF types as `X | None`: missing -> fallback, explicit null -> nullopt.
  std::optional<int64_t> get_nullable_int(std::string_view key,
                                          std::optional<int64_t> fallback) const {
    if (!contains(key)) return fallback;
    if (!has(key)) return std::nullopt;
    return at(key).as_int();
  }
  std::optional<double> get_nullable_double(std::string_view key,
                                            std::optional<double> fallback) const {
    if (!contains(key)) return fallback;
    if (!has(key)) return std::nullopt;
    return at(key).as_double();
  }

  /// Missing -> fallback, explicit null -> empty (HF's None).
  std::vector<int64_t> get_token_ids(std::string_view key, std::vector<int64_t> fallback) const {
    if (!contains(key)) return fallback;
    if (!has(key)) return {};
    return at(key).as_int_or_int_list();
  }

  /// The nested object at `key`; nullopt when absent.
  std::optional<JsonObject> child(std::string_view key) const {
    if (!has(key)) return std::nullopt;
    return JsonObject(*object_.find(key), source_, path_of(key));
  }

 private:
  const Json& object_;
  std::string_view source_;
  std::string path_;
};

}  // namespace gemma::io
