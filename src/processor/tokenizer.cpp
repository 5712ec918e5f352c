#include "gemma/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "gemma/error.h"
#include "io/special_tokens.h"
#include "processor/tokenizer_added.h"
#include "processor/tokenizer_spm.h"
#include "processor/tokenizer_unicode.h"

namespace gemma {
namespace {

namespace fs = std::filesystem;

// Indices into io::kVocabularyTokens, which starts with bos, eos, pad, unk.
constexpr size_t kBos = 0;
constexpr size_t kEos = 1;
constexpr size_t kPad = 2;
constexpr size_t kUnk = 3;

constexpr std::string_view kMetaSpace = "\xE2\x96\x81";    // ▁
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

size_t named_index(std::string_view name) {
  for (size_t i = 0; i < io::kVocabularyTokens.size(); ++i) {
    if (io::kVocabularyTokens[i].name == name) return i;
  }
  throw InvalidArgumentError(fmt::format(
      "unknown special token name '{}' (expected bos_token, eos_token, pad_token, unk_token, "
      "image_token, boi_token, eoi_token, audio_token, boa_token or eoa_token)",
      name));
}

// Without added_tokens_decoder, transformers converts tokenizer.model: control and user-defined
// pieces become added tokens, special if they are control pieces or named special tokens.
std::map<int64_t, AddedToken> converted_added_tokens(const TokenizerConfig& config,
                                                     const detail::SentencePieceModel& model) {
  std::set<std::string, std::less<>> named(config.additional_special_tokens.begin(),
                                           config.additional_special_tokens.end());
  named.insert(config.mask_token);
  for (const auto& token : io::kVocabularyTokens) {
    if (!(config.*token.member).empty()) named.insert(config.*token.member);
  }
  std::map<int64_t, AddedToken> tokens;
  for (int64_t id = 0; id < model.size(); ++id) {
    const std::string_view piece = model.piece(id);
    const bool is_named = named.find(piece) != named.end();
    if (!model.is_control(id) && !model.is_user_defined(id) && !is_named) continue;
    AddedToken& token = tokens[id];
    token.content = piece;
    token.special = model.is_control(id) || is_named;
    token.normalized = false;
  }
  return tokens;
}

// tokenizers takes ids as u32: anything else is an error there, not a missing token.
int64_t checked_id(int64_t id) {
  if (id < 0 || id > std::numeric_limits<uint32_t>::max()) {
    throw InvalidArgumentError(
        fmt::format("decode: token id {} is out of range (ids are 0 to 4294967295)", id));
  }
  return id;
}

// tokenizers' ByteFallback decoder: a token spelled "<0xHH>" stands for one byte.
std::optional<char> byte_of(std::string_view token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token.back() != '>') return std::nullopt;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const int high = hex(token[3]);
  const int low = hex(token[4]);
  if (high < 0 || low < 0) return std::nullopt;
  return static_cast<char>(high * 16 + low);
}

// A run of byte tokens decodes as a whole: its UTF-8 text, or U+FFFD for each byte if any part
// of it is invalid (tokenizers' ByteFallback). Empties `bytes`.
void flush_bytes(std::string& out, std::string& bytes) {
  if (detail::find_invalid_utf8(bytes)) {
    for (size_t i = 0; i < bytes.size(); ++i) out.append(kReplacement);
  } else {
    out.append(bytes);
  }
  bytes.clear();
}

// tokenizers' Replace("▁", " ") decoder, which applies to added tokens too.
void append_token(std::string& out, std::string_view token) {
  for (size_t pos = 0; pos < token.size();) {
    const size_t meta = std::min(token.find(kMetaSpace, pos), token.size());
    out.append(token.substr(pos, meta - pos));
    if (meta == token.size()) break;
    out.push_back(' ');
    pos = meta + kMetaSpace.size();
  }
}

// One step of the decoder chain: a byte token joins the pending run; any other token ends it.
void decode_token(std::string& out, std::string& pending_bytes, std::string_view token) {
  if (const auto byte = byte_of(token)) {
    pending_bytes.push_back(*byte);
    return;
  }
  flush_bytes(out, pending_bytes);
  append_token(out, token);
}

}  // namespace

struct Tokenizer::Impl {
  Impl(const fs::path& dir, TokenizerConfig config_in, detail::SentencePieceModel model_in)
      : config(std::move(config_in)),
        model(std::move(model_in)),
        added(config.added_tokens.empty() ? converted_added_tokens(config, model)
                                          : config.added_tokens) {
    for (size_t i = 0; i < io::kVocabularyTokens.size(); ++i) {
      const std::string& content = config.*io::kVocabularyTokens[i].member;
      if (content.empty()) continue;
      named_ids[i] = token_to_id(content);
      if (!named_ids[i]) {
        throw ProcessorError(
            fmt::format("{}: {} '{}' is neither in tokenizer.model nor in added_tokens_decoder",
                        dir.string(), io::kVocabularyTokens[i].name, content));
      }
    }
    vocab_size =
        model.size() + std::count_if(added.tokens().begin(), added.tokens().end(),
                                     [&](const auto& t) { return t.first >= model.size(); });
  }

  std::optional<std::string_view> token(int64_t id) const {
    if (const auto added_token = added.token(id)) return added_token;
    if (id >= 0 && id < model.size()) return model.piece(id);
    return std::nullopt;
  }

  std::optional<int64_t> token_to_id(std::string_view content) const {
    if (const auto id = added.find(content)) return id;
    return model.find(content);
  }

  // The token decode() passes to its decoders; nullopt for ids it drops.
  std::optional<std::string_view> decoded_token(int64_t id, bool skip_special_tokens) const {
    const auto t = token(checked_id(id));
    if (!t || (skip_special_tokens && added.is_special(*t))) return std::nullopt;
    return t;
  }

  TokenizerConfig config;
  detail::SentencePieceModel model;
  detail::AddedVocabulary added;
  std::array<std::optional<int64_t>, io::kVocabularyTokens.size()> named_ids;
  int64_t vocab_size = 0;
};

Tokenizer Tokenizer::from_pretrained(const fs::path& model_dir) {
  const fs::path model_file = model_dir / "tokenizer.model";
  std::error_code ec;
  if (!fs::exists(model_file, ec)) {
    const fs::path json_file = model_dir / "tokenizer.json";
    if (fs::exists(json_file, ec)) {
      throw UnsupportedError(fmt::format(
          "{}: reading the tokenizer from tokenizer.json is not supported yet; the model "
          "directory needs the sentencepiece tokenizer.model",
          json_file.string()));
    }
    throw IoError(fmt::format("cannot open {}: no such file", model_file.string()));
  }
  TokenizerConfig config = load_tokenizer_config(model_dir);
  detail::SentencePieceModel model(model_file);
  return Tokenizer(std::make_shared<const Impl>(model_dir, std::move(config), std::move(model)));
}

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(const Tokenizer&) = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(const Tokenizer&) = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<int64_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  if (const auto bad = detail::find_invalid_utf8(text)) {
    throw InvalidArgumentError(
        fmt::format("encode: the text is not valid UTF-8 (byte {} of {})", *bad, text.size()));
  }
  std::vector<int64_t> ids;
  for (const detail::TextPiece& piece : impl_->added.split(text)) {
    if (piece.id) {
      ids.push_back(*piece.id);
    } else {
      impl_->model.encode(piece.text, ids);
    }
  }
  if (!add_special_tokens) return ids;
  const auto bos = bos_token_id();
  if (impl_->config.add_bos_token && bos && (ids.empty() || ids.front() != *bos)) {
    ids.insert(ids.begin(), *bos);
  }
  const auto eos = eos_token_id();
  if (impl_->config.add_eos_token && eos) ids.push_back(*eos);
  return ids;
}

std::string Tokenizer::decode(std::span<const int64_t> ids, bool skip_special_tokens) const {
  std::string text;
  std::string bytes;
  for (const int64_t id : ids) {
    if (const auto token = impl_->decoded_token(id, skip_special_tokens)) {
      decode_token(text, bytes, *token);
    }
  }
  flush_bytes(text, bytes);
  return text;
}

std::vector<std::string> Tokenizer::batch_decode(std::span<const std::vector<int64_t>> sequences,
                                                 bool skip_special_tokens) const {
  std::vector<std::string> texts;
  texts.reserve(sequences.size());
  for (const auto& ids : sequences) texts.push_back(decode(ids, skip_special_tokens));
  return texts;
}

Tokenizer::StreamDecoder Tokenizer::stream_decoder(bool skip_special_tokens) const {
  return StreamDecoder(impl_, skip_special_tokens);
}

std::optional<std::string> Tokenizer::id_to_token(int64_t id) const {
  const auto token = impl_->token(id);
  if (!token) return std::nullopt;
  return std::string(*token);
}

std::optional<int64_t> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->token_to_id(token);
}

int64_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

bool Tokenizer::is_special(int64_t id) const {
  const auto token = impl_->token(id);
  return token && impl_->added.is_special(*token);
}

std::optional<int64_t> Tokenizer::bos_token_id() const { return impl_->named_ids[kBos]; }
std::optional<int64_t> Tokenizer::eos_token_id() const { return impl_->named_ids[kEos]; }
std::optional<int64_t> Tokenizer::pad_token_id() const { return impl_->named_ids[kPad]; }
std::optional<int64_t> Tokenizer::unk_token_id() const { return impl_->named_ids[kUnk]; }

std::optional<int64_t> Tokenizer::special_token_id(std::string_view name) const {
  return impl_->named_ids[named_index(name)];
}

const TokenizerConfig& Tokenizer::config() const { return impl_->config; }

Tokenizer::StreamDecoder::StreamDecoder(std::shared_ptr<const Impl> tokenizer,
                                        bool skip_special_tokens)
    : tokenizer_(std::move(tokenizer)), skip_special_tokens_(skip_special_tokens) {}

std::string Tokenizer::StreamDecoder::push(int64_t id) {
  std::string text;
  if (const auto token = tokenizer_->decoded_token(id, skip_special_tokens_)) {
    decode_token(text, pending_bytes_, *token);
  }
  return text;
}

std::string Tokenizer::StreamDecoder::flush() {
  std::string text;
  flush_bytes(text, pending_bytes_);
  return text;
}

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  return detail::find_invalid_utf8(text);
}

}  // namespace gemma
