#pragma once
/// The Gemma tokenizer: transformers' GemmaTokenizer (sentencepiece BPE with byte fallback, plus
/// the added tokens of tokenizer_config.json), loaded from a Hugging Face model directory.
///
/// Ids and text match transformers 5 token for token, with one deliberate exception: encode() never
/// puts a second BOS in front of text that already starts with one (transformers does, and a
/// rendered chat template starts with "<bos>"; see encode()).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/config.h"
#include "gemma/export.h"

namespace gemma {

/// Byte offset of the first byte of `text` that does not start a valid UTF-8 sequence (overlong
/// forms, surrogates and code points above U+10FFFF are invalid); nullopt when all of it is valid.
/// Text passed to the tokenizer and the chat template must be valid UTF-8.
GEMMA_API std::optional<std::size_t> find_invalid_utf8(std::string_view text);

/// Immutable once loaded. Copies are cheap and share the loaded model; every const method may be
/// called from several threads at once.
class GEMMA_API Tokenizer {
  struct Impl;

 public:
  class StreamDecoder;

  /// Reads `model_dir`/tokenizer.model (sentencepiece) and tokenizer_config.json +
  /// special_tokens_map.json. Throws IoError (missing or unreadable file), ProcessorError (corrupt
  /// tokenizer.model, special token missing from the vocabulary), ConfigError (bad JSON) or
  /// UnsupportedError (only tokenizer.json present; a sentencepiece model that is not BPE with
  /// byte fallback), each naming the file.
  static Tokenizer from_pretrained(const std::filesystem::path& model_dir);

  /// Copies share the loaded model.
  Tokenizer(const Tokenizer&);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(const Tokenizer&);
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  /// `tokenizer(text, add_special_tokens=...)["input_ids"]`: added tokens (e.g. "<start_of_turn>")
  /// are split out first, the text between them goes through sentencepiece. With
  /// `add_special_tokens` the ids get BOS in front (add_bos_token) unless they already start with
  /// BOS, and EOS at the end (add_eos_token). Both flags come from tokenizer_config.json
  /// (transformers 5 reads them from tokenizer.json's post-processor when there is one; Gemma's
  /// files agree). Throws InvalidArgumentError if `text` is not UTF-8.
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens = true) const;

  /// `tokenizer.decode(ids, skip_special_tokens=...)`: "▁" becomes a space; runs of byte pieces
  /// ("<0xE2>"...) become their UTF-8 text, or one U+FFFD per byte if the run is not valid UTF-8;
  /// ids without a token (vocabulary gaps, ids past the end) are dropped.
  /// clean_up_tokenization_spaces is ignored, as transformers 5 ignores it for BPE tokenizers.
  /// Throws InvalidArgumentError naming an id that is negative or above 2^32 - 1.
  std::string decode(std::span<const int64_t> ids, bool skip_special_tokens = false) const;
  /// decode() of each sequence.
  std::vector<std::string> batch_decode(std::span<const std::vector<int64_t>> sequences,
                                        bool skip_special_tokens = false) const;
  /// Incremental decode() for generation; see StreamDecoder.
  StreamDecoder stream_decoder(bool skip_special_tokens = false) const;

  /// The token (e.g. "▁the", "<0x0A>", "<bos>") of an id; nullopt for ids without one.
  std::optional<std::string> id_to_token(int64_t id) const;
  /// The id of a token; nullopt where transformers would answer unk_token_id.
  std::optional<int64_t> token_to_id(std::string_view token) const;
  /// Number of ids that have a token: `len(tokenizer)`. Smaller than the model's vocab_size when
  /// the vocabulary has gaps (the multimodal ranges).
  int64_t vocab_size() const;
  /// Whether decode(..., skip_special_tokens=true) drops this id.
  bool is_special(int64_t id) const;

  /// Ids of the config's bos/eos/pad/unk tokens; nullopt when the config names none.
  std::optional<int64_t> bos_token_id() const;
  std::optional<int64_t> eos_token_id() const;
  std::optional<int64_t> pad_token_id() const;
  std::optional<int64_t> unk_token_id() const;
  /// The id of a named special token: "bos_token", "eos_token", "pad_token", "unk_token",
  /// "image_token", "boi_token", "eoi_token", "audio_token", "boa_token", "eoa_token". nullopt if
  /// the config names none; InvalidArgumentError for any other name.
  std::optional<int64_t> special_token_id(std::string_view name) const;

  /// tokenizer_config.json merged with special_tokens_map.json.
  const TokenizerConfig& config() const;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl);

  std::shared_ptr<const Impl> impl_;
};

/// Turns generated ids into text as they arrive. The pushes and the final flush() concatenate to
/// exactly decode(all ids, skip_special_tokens), and each returned piece is valid UTF-8: text made
/// of byte pieces is held back until the run of byte pieces ends, because decode() resolves a whole
/// run at once (valid UTF-8, or U+FFFD for every byte). Keeps the tokenizer's model alive. One
/// decoder per stream; not for concurrent use.
class GEMMA_API Tokenizer::StreamDecoder {
 public:
  /// The text `id` completes; often empty. Throws InvalidArgumentError as decode() does.
  std::string push(int64_t id);
  /// The text still held back; the decoder then starts afresh.
  std::string flush();

 private:
  friend class Tokenizer;
  StreamDecoder(std::shared_ptr<const Impl> tokenizer, bool skip_special_tokens);

  std::shared_ptr<const Impl> tokenizer_;
  bool skip_special_tokens_;
  std::string pending_bytes_;
};

}  // namespace gemma
