#include "gemma/tokenizer.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gemma/config.h"
#include "gemma/error.h"
#include "processor/tokenizer_unicode.h"
#include "support/paths.h"
#include "util/files.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Ids = std::vector<int64_t>;
using gemma::Tokenizer;

// The type and the input named in the message both matter: a user fixes the input from it.
#define REQUIRE_ERROR(expr, type, fragment)               \
  do {                                                    \
    REQUIRE_THROWS_AS(expr, type);                        \
    REQUIRE_THROWS_WITH(expr, Catch::Contains(fragment)); \
  } while (false)

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

Json read_json(const fs::path& path) { return Json::parse(gemma::util::read_file(path)); }

const Json& golden() {
  static const Json doc = read_json(gemma::test::data_dir() / "golden" / "tokenizer.json");
  return doc;
}

const Json& golden_extra() {
  static const Json doc = read_json(gemma::test::data_dir() / "golden" / "tokenizer_extra.json");
  return doc;
}

const Tokenizer& tiny() {
  static const Tokenizer tokenizer = Tokenizer::from_pretrained(gemma::test::tiny_model_dir());
  return tokenizer;
}

bool is_utf8(const std::string& text) { return !gemma::detail::find_invalid_utf8(text); }

// Concatenated pushes + flush, checking that every piece is valid UTF-8.
std::string stream(const Tokenizer& tokenizer, const Ids& ids, bool skip_special_tokens) {
  auto decoder = tokenizer.stream_decoder(skip_special_tokens);
  std::string text;
  for (const int64_t id : ids) {
    const std::string piece = decoder.push(id);
    CHECK(is_utf8(piece));
    text += piece;
  }
  const std::string rest = decoder.flush();
  CHECK(is_utf8(rest));
  return text + rest;
}

std::vector<std::optional<std::string>> tokens_of(const Tokenizer& tokenizer, const Ids& ids) {
  std::vector<std::optional<std::string>> tokens;
  for (const int64_t id : ids) tokens.push_back(tokenizer.id_to_token(id));
  return tokens;
}

std::vector<std::optional<std::string>> golden_tokens(const Json& tokens) {
  std::vector<std::optional<std::string>> out;
  for (const Json& token : tokens) {
    out.push_back(token.is_null() ? std::nullopt : std::optional(token.get<std::string>()));
  }
  return out;
}

// transformers puts BOS in front of text that already starts with "<bos>"; we deliberately do not
// (a rendered chat template starts with it). Everywhere else its ids are ours.
Ids expected_with_special_tokens(const Tokenizer& tokenizer, const Json& c) {
  const auto hf = c["ids_with_special_tokens"].get<Ids>();
  const auto ids = c["ids"].get<Ids>();
  const auto bos = tokenizer.bos_token_id();
  if (!tokenizer.config().add_bos_token || !bos || ids.empty() || ids.front() != *bos) return hf;
  Ids doubled = {*bos};
  doubled.insert(doubled.end(), ids.begin(), ids.end());
  REQUIRE(Ids(hf.begin(), hf.begin() + static_cast<std::ptrdiff_t>(doubled.size())) == doubled);
  return Ids(hf.begin() + 1, hf.end());
}

void check_decode(const Tokenizer& tokenizer, const Ids& ids, const Json& c) {
  CHECK(tokenizer.decode(ids) == c["decode"].get<std::string>());
  CHECK(tokenizer.decode(ids, true) == c["decode_skip_special_tokens"].get<std::string>());
  CHECK(stream(tokenizer, ids, false) == c["decode"].get<std::string>());
  CHECK(stream(tokenizer, ids, true) == c["decode_skip_special_tokens"].get<std::string>());
}

void check_encode_case(const Tokenizer& tokenizer, const Json& c) {
  const auto text = c["text"].get<std::string>();
  INFO("text: " << Json(text).dump());
  const auto ids = c["ids"].get<Ids>();
  CHECK(tokenizer.encode(text, false) == ids);
  CHECK(tokenizer.encode(text) == expected_with_special_tokens(tokenizer, c));
  CHECK(tokens_of(tokenizer, ids) == golden_tokens(c["tokens"]));
  check_decode(tokenizer, c["ids_with_special_tokens"].get<Ids>(), c);
}

void check_decode_case(const Tokenizer& tokenizer, const Json& c) {
  INFO("case: " << c["name"].get<std::string>());
  const auto ids = c["ids"].get<Ids>();
  CHECK(tokens_of(tokenizer, ids) == golden_tokens(c["tokens"]));
  check_decode(tokenizer, ids, c);
}

void check_cases(const Tokenizer& tokenizer, const Json& doc) {
  for (const Json& c : doc["encode"]) check_encode_case(tokenizer, c);
  for (const Json& c : doc["decode_only"]) check_decode_case(tokenizer, c);
}

// A model directory of the tiny tokenizer.model and the given JSON files.
fs::path make_model_dir(const std::string& name, const Json& tokenizer_config,
                        const Json& special_tokens_map) {
  const fs::path dir = gemma::test::scratch_dir(name);
  fs::copy_file(gemma::test::tiny_model_dir() / "tokenizer.model", dir / "tokenizer.model");
  write_text(dir / "tokenizer_config.json", tokenizer_config.dump());
  if (!special_tokens_map.is_null()) {
    write_text(dir / "special_tokens_map.json", special_tokens_map.dump());
  }
  return dir;
}

const Json& variant(const std::string& name) {
  for (const Json& v : golden_extra()["variants"]) {
    if (v["name"] == name) return v;
  }
  FAIL("no tokenizer variant " << name);
  throw;
}

Tokenizer load_variant(const std::string& name) {
  const Json& v = variant(name);
  return Tokenizer::from_pretrained(
      make_model_dir("tokenizer-" + name, v["tokenizer_config"], v["special_tokens_map"]));
}

}  // namespace

TEST_CASE("tokenizer: golden cases match transformers", "[unit][tokenizer]") {
  check_cases(tiny(), golden());
}

TEST_CASE("tokenizer: extra golden cases match transformers", "[unit][tokenizer]") {
  check_cases(tiny(), golden_extra());
}

TEST_CASE("tokenizer: golden tokenizer variants match transformers", "[unit][tokenizer]") {
  for (const char* name : {"added_token_flags", "eos_without_bos", "clean_up_tokenization_spaces",
                           "no_added_tokens_decoder"}) {
    INFO("variant: " << name);
    check_cases(load_variant(name), variant(name));
  }
}

TEST_CASE("tokenizer: vocabulary and special ids of the tiny model", "[unit][tokenizer]") {
  const Tokenizer& tok = tiny();
  const Json& ids = golden()["special_ids"];
  CHECK(tok.vocab_size() == golden()["vocab_size"].get<int64_t>());
  CHECK(tok.bos_token_id() == ids["bos_token_id"].get<int64_t>());
  CHECK(tok.eos_token_id() == ids["eos_token_id"].get<int64_t>());
  CHECK(tok.pad_token_id() == ids["pad_token_id"].get<int64_t>());
  CHECK(tok.unk_token_id() == ids["unk_token_id"].get<int64_t>());
  for (const char* name : {"image_token", "boi_token", "eoi_token", "audio_token", "boa_token",
                           "eoa_token", "bos_token", "eos_token"}) {
    INFO(name);
    CHECK(tok.special_token_id(name) == ids[std::string(name) + "_id"].get<int64_t>());
  }
  CHECK(tok.token_to_id("<start_of_turn>") == ids["start_of_turn_id"].get<int64_t>());
  CHECK(tok.token_to_id("<end_of_turn>") == ids["end_of_turn_id"].get<int64_t>());
  CHECK(tok.token_to_id("\xE2\x96\x81w") == 282);
  CHECK(tok.token_to_id("no such token") == std::nullopt);
  CHECK(tok.id_to_token(513) == "<image_soft_token>");
  CHECK(tok.id_to_token(600) == std::nullopt);
  CHECK(tok.id_to_token(-1) == std::nullopt);
  CHECK(tok.is_special(2));
  CHECK(tok.is_special(641));
  CHECK_FALSE(tok.is_special(473));
  CHECK_FALSE(tok.is_special(600));
  REQUIRE_ERROR(tok.special_token_id("mask"), gemma::InvalidArgumentError, "'mask'");
}

TEST_CASE("tokenizer: never a second BOS", "[unit][tokenizer]") {
  const Tokenizer& tok = tiny();
  const std::string rendered = "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n";
  const Ids ids = tok.encode(rendered);
  REQUIRE(ids.size() > 2);
  CHECK(ids[0] == 2);
  CHECK(ids[1] == 5);
  CHECK(ids == tok.encode(rendered, false));
  CHECK(tok.encode("<bos>") == Ids{2});
  // Only a leading BOS counts: one later in the text is the user's.
  CHECK(tok.encode(" <bos>") == Ids{2, 428, 2});
  CHECK(tok.encode("<bos><bos>") == Ids{2, 2});
}

TEST_CASE("tokenizer: stream decoding holds back byte pieces", "[unit][tokenizer]") {
  const Tokenizer& tok = tiny();
  SECTION("a character made of byte pieces appears with the next piece") {
    auto decoder = tok.stream_decoder();
    CHECK(decoder.push(473) == "H");
    CHECK(decoder.push(202).empty());  // <0xC3>
    CHECK(decoder.push(176).empty());  // <0xA9>
    CHECK(decoder.push(2) == "\xC3\xA9<bos>");
    CHECK(decoder.flush().empty());
  }
  SECTION("flush resolves a pending run, then the decoder starts afresh") {
    auto decoder = tok.stream_decoder();
    CHECK(decoder.push(235).empty());  // <0xE4>, a lone lead byte
    CHECK(decoder.flush() == "\xEF\xBF\xBD");
    CHECK(decoder.push(191).empty());
    CHECK(decoder.flush() == "\xEF\xBF\xBD");
    CHECK(decoder.flush().empty());
  }
  SECTION("skipped special tokens and ids without a token do not end a run") {
    auto decoder = tok.stream_decoder(true);
    CHECK(decoder.push(202).empty());
    CHECK(decoder.push(1).empty());
    CHECK(decoder.push(600).empty());
    CHECK(decoder.push(176).empty());
    CHECK(decoder.push(428) == "\xC3\xA9 ");
  }
  SECTION("the decoder keeps the model alive") {
    std::optional<Tokenizer> owner = Tokenizer::from_pretrained(gemma::test::tiny_model_dir());
    auto decoder = owner->stream_decoder();
    owner.reset();
    CHECK(decoder.push(473) == "H");
  }
}

TEST_CASE("tokenizer: batch_decode decodes each sequence", "[unit][tokenizer]") {
  const std::vector<Ids> batch = {{2, 473, 429}, {}, {510, 513, 512}};
  CHECK(tiny().batch_decode(batch) == std::vector<std::string>{"<bos>He", "",
                                                               "<start_of_image>"
                                                               "<image_soft_token>"
                                                               "<end_of_image>"});
  CHECK(tiny().batch_decode(batch, true) == std::vector<std::string>{"He", "", ""});
}

TEST_CASE("tokenizer: bad ids and text are errors naming them", "[unit][tokenizer]") {
  const Tokenizer& tok = tiny();
  const Ids negative = {473, -1};
  REQUIRE_ERROR(tok.decode(negative), gemma::InvalidArgumentError, "token id -1");
  const Ids too_big = {4294967296};
  REQUIRE_ERROR(tok.decode(too_big), gemma::InvalidArgumentError, "token id 4294967296");
  auto decoder = tok.stream_decoder();
  REQUIRE_ERROR(decoder.push(-5), gemma::InvalidArgumentError, "token id -5");
  REQUIRE_ERROR(tok.encode("ok \xC3("), gemma::InvalidArgumentError, "byte 3");
  REQUIRE_ERROR(tok.encode("\xED\xA0\x80"), gemma::InvalidArgumentError, "not valid UTF-8");
}

TEST_CASE("tokenizer: unreadable model directories are errors naming the file",
          "[unit][tokenizer]") {
  const fs::path dir = gemma::test::scratch_dir("tokenizer-errors");
  const fs::path model = dir / "tokenizer.model";
  const std::string good =
      gemma::util::read_file(gemma::test::tiny_model_dir() / "tokenizer.model");
  SECTION("missing") {
    REQUIRE_ERROR(Tokenizer::from_pretrained(dir / "nope"), gemma::IoError, "tokenizer.model");
  }
  SECTION("tokenizer.json only") {
    write_text(dir / "tokenizer.json", "{}");
    REQUIRE_ERROR(Tokenizer::from_pretrained(dir), gemma::UnsupportedError, "tokenizer.json");
  }
  SECTION("a directory in place of the model") {
    fs::create_directory(model);
    REQUIRE_ERROR(Tokenizer::from_pretrained(dir), gemma::IoError, "tokenizer.model");
  }
  SECTION("truncated") {
    write_text(model, good.substr(0, good.size() / 2));
    REQUIRE_ERROR(Tokenizer::from_pretrained(dir), gemma::ProcessorError,
                  model.string() + ": not a sentencepiece model");
  }
  SECTION("not protobuf") {
    write_text(model, "this is not a model");
    REQUIRE_ERROR(Tokenizer::from_pretrained(dir), gemma::ProcessorError, model.string());
  }
  SECTION("empty") {
    write_text(model, "");
    REQUIRE_ERROR(Tokenizer::from_pretrained(dir), gemma::ProcessorError, "no pieces");
  }
  // Hand-written protos: piece {piece: "a"}, trainer_spec {model_type, byte_fallback}.
  SECTION("unigram") {
    write_text(model, std::string("\x0A\x03\x0A\x01"
                                  "a"
                                  "\x12\x05\x18\x01\x98\x02\x01",
                                  12));
    REQUIRE_ERROR(Tokenizer::from_pretrained(dir), gemma::UnsupportedError, "not BPE");
  }
  SECTION("no byte fallback") {
    write_text(model, std::string("\x0A\x03\x0A\x01"
                                  "a"
                                  "\x12\x02\x18\x02",
                                  9));
    REQUIRE_ERROR(Tokenizer::from_pretrained(dir), gemma::UnsupportedError, "byte fallback");
  }
  SECTION("a special token missing from the vocabulary") {
    fs::copy_file(gemma::test::tiny_model_dir() / "tokenizer.model", model);
    write_text(dir / "tokenizer_config.json", R"({"eos_token": "<end>"})");
    REQUIRE_ERROR(Tokenizer::from_pretrained(dir), gemma::ProcessorError, "eos_token '<end>'");
  }
}

TEST_CASE("tokenizer: E2B and E4B tokenizer configs", "[unit][tokenizer]") {
  for (const char* model : {"gemma-3n-E2B-it", "gemma-3n-E4B-it"}) {
    INFO(model);
    const fs::path config_dir = gemma::test::data_dir() / "configs" / model;
    const gemma::TokenizerConfig config = gemma::load_tokenizer_config(config_dir);
    CHECK(config.add_bos_token);
    CHECK_FALSE(config.add_eos_token);
    CHECK(config.added_tokens.at(105).content == "<start_of_turn>");
    CHECK(config.added_tokens.at(106).content == "<end_of_turn>");

    // Their layout on top of the tiny sentencepiece model: ids come from added_tokens_decoder.
    const Json stm = fs::exists(config_dir / "special_tokens_map.json")
                         ? read_json(config_dir / "special_tokens_map.json")
                         : Json();
    const Tokenizer tok = Tokenizer::from_pretrained(make_model_dir(
        std::string("tokenizer-") + model, read_json(config_dir / "tokenizer_config.json"), stm));
    CHECK(tok.bos_token_id() == 2);
    CHECK(tok.eos_token_id() == 1);
    CHECK(tok.pad_token_id() == 0);
    CHECK(tok.unk_token_id() == 3);
    CHECK(tok.special_token_id("boi_token") == 255999);
    CHECK(tok.special_token_id("boa_token") == 256000);
    CHECK(tok.special_token_id("eoi_token") == 262144);
    CHECK(tok.special_token_id("image_token") == 262145);
    CHECK(tok.special_token_id("eoa_token") == 262272);
    CHECK(tok.special_token_id("audio_token") == 262273);
    CHECK(tok.encode("<start_of_turn>user\n<image_soft_token><end_of_turn>") ==
          Ids{2, 105, 441, 435, 271, 17, 262145, 106});
    CHECK(tok.decode(Ids{2, 105, 262273, 106, 1}, true).empty());
    CHECK(tok.vocab_size() == 512 + 6);  // the model's pieces + the added ids above them
  }
}
