#include <charconv>
#include <cmath>
#include <limits>

#include "io/config_parse.h"
#include "io/special_tokens.h"

namespace gemma {

namespace fs = std::filesystem;
// The checks, loaders and readers shared by the config files (io/config_parse.h).
using namespace io;

namespace {

// A special token is a string or an AddedToken object {"content": ...}; null means none.
std::string token_content(const JsonValue& value) {
  if (value.raw().is_null()) return {};
  if (value.raw().is_string()) return value.as_string();
  if (!value.raw().is_object()) value.fail_type("a string or an AddedToken object");
  const JsonObject token(value.raw(), value.source(), value.path());
  if (!token.has("content")) token.fail("content", "missing");
  return token.at("content").as_string();
}

std::vector<std::string> token_list(const JsonValue& value) { return value.as_list(token_content); }

AddedToken read_added_token(const JsonObject& o) {
  AddedToken t;
  if (!o.has("content")) o.fail("content", "missing");
  t.content = o.at("content").as_string();
  t.special = o.get_bool("special", t.special);
  t.lstrip = o.get_bool("lstrip", t.lstrip);
  t.rstrip = o.get_bool("rstrip", t.rstrip);
  t.normalized = o.get_bool("normalized", !t.special);
  t.single_word = o.get_bool("single_word", t.single_word);
  return t;
}

std::map<int64_t, AddedToken> read_added_tokens(const JsonObject& decoder) {
  std::map<int64_t, AddedToken> tokens;
  for (const auto& [key, value] : decoder.raw().items()) {
    int64_t id = -1;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || end != key.data() + key.size() || id < 0) {
      decoder.fail(key, "key must be a non-negative token id");
    }
    tokens[id] = read_added_token(JsonObject(value, decoder.source(), decoder.path_of(key)));
  }
  return tokens;
}

// Every named token at the top level; the multimodal ones also inside the nested maps.
void read_named_tokens(const JsonObject& o, TokenizerConfig& c, bool multimodal_only) {
  for (const auto& field : io::kSpecialTokenFields) {
    if (multimodal_only && !field.multimodal) continue;
    if (o.contains(field.name)) c.*field.member = token_content(o.at(field.name));
  }
}

// A template string, or a list of {"name", "template"} from which "default" is used.
std::string read_chat_template(const JsonObject& o) {
  if (!o.has("chat_template")) return {};
  const JsonValue value = o.at("chat_template");
  if (value.raw().is_string()) return value.as_string();
  if (!value.raw().is_array()) value.fail_type("a string or a list of {name, template}");
  for (size_t i = 0; i < value.raw().size(); ++i) {
    const JsonObject entry(value.raw()[i], o.source(), io::index_path(value.path(), i));
    if (entry.get_string("name", "") == "default") return entry.get_string("template", "");
  }
  return {};
}

// transformers writes "no limit" as int(1e30), which JSON parsers read back as a float.
int64_t read_model_max_length(const JsonObject& o, int64_t fallback) {
  if (!o.has("model_max_length")) return fallback;
  const JsonValue value = o.at("model_max_length");
  if (value.raw().is_number_float()) {
    const double v = value.as_double();
    if (v >= static_cast<double>(std::numeric_limits<int64_t>::max())) {
      return std::numeric_limits<int64_t>::max();
    }
    if (v != std::floor(v)) value.fail_type("an integer");
    if (v < 1.0) value.fail(fmt::format("must be > 0, got {}", v));
    return static_cast<int64_t>(v);
  }
  if (value.raw().is_number_unsigned() &&
      value.raw().get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::numeric_limits<int64_t>::max();
  }
  return value.as_int();
}

}  // namespace

// The keys both tokenizer_config.json and special_tokens_map.json may carry.
void io::read_special_tokens(const JsonObject& o, TokenizerConfig& c) {
  read_named_tokens(o, c, /*multimodal_only=*/false);
  if (o.has("additional_special_tokens")) {
    c.additional_special_tokens = token_list(o.at("additional_special_tokens"));
  }
  for (const std::string_view nested : {"model_specific_special_tokens", "extra_special_tokens"}) {
    if (!o.has(nested)) continue;
    const JsonValue value = o.at(nested);
    if (value.raw().is_array()) {
      c.additional_special_tokens = token_list(value);
    } else {
      read_named_tokens(JsonObject(value.raw(), o.source(), value.path()), c,
                        /*multimodal_only=*/true);
    }
  }
  // Top-level keys win over the nested maps.
  read_named_tokens(o, c, /*multimodal_only=*/true);
}
TokenizerConfig io::read_tokenizer_config(const JsonObject& o) {
  TokenizerConfig c;
  c.add_bos_token = o.get_bool("add_bos_token", c.add_bos_token);
  c.add_eos_token = o.get_bool("add_eos_token", c.add_eos_token);
  read_special_tokens(o, c);
  if (const auto decoder = o.child("added_tokens_decoder"))
    c.added_tokens = read_added_tokens(*decoder);
  c.chat_template = read_chat_template(o);
  c.model_max_length = read_model_max_length(o, c.model_max_length);
  c.padding_side = o.get_string("padding_side", c.padding_side);
  c.clean_up_tokenization_spaces =
      o.get_bool("clean_up_tokenization_spaces", c.clean_up_tokenization_spaces);
  c.tokenizer_class = o.get_string("tokenizer_class", c.tokenizer_class);
  return c;
}

void TokenizerConfig::validate(std::string_view source) const {
  const Checker check(source, "");
  check.positive("model_max_length", model_max_length);
  check.one_of("padding_side", padding_side, {"left", "right"});
  for (const auto& [id, token] : added_tokens) {
    if (token.content.empty()) {
      check.fail(
          io::join_path(io::join_path("added_tokens_decoder", std::to_string(id)), "content"),
          "must not be empty");
    }
  }
}

TokenizerConfig parse_tokenizer_config(std::string_view json_text, std::string_view source_name) {
  return parse_flat<TokenizerConfig>(json_text, source_name, read_tokenizer_config);
}

TokenizerConfig load_tokenizer_config(const fs::path& model_dir) {
  TokenizerConfig config;
  if (const auto loaded = load_optional_json(model_dir / "tokenizer_config.json")) {
    config = read_tokenizer_config(JsonObject(loaded->doc, loaded->source, ""));
    config.validate(loaded->source);
  }
  // transformers applies special_tokens_map.json over tokenizer_config.json's values.
  if (const auto loaded = load_optional_json(model_dir / "special_tokens_map.json")) {
    read_special_tokens(JsonObject(loaded->doc, loaded->source, ""), config);
    config.validate(loaded->source);
  }
  return config;
}

}  // namespace gemma
