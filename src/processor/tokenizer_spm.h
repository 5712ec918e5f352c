#pragma once
// tokenizer.model through libsentencepiece, set up to encode exactly as transformers'
// GemmaTokenizer (a tokenizers BPE converted from the same file) does.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace gemma::detail {

class SentencePieceModel {
 public:
  // Throws IoError (unreadable), ProcessorError (not a sentencepiece model) or UnsupportedError
  // (not BPE with byte fallback), naming `path`.
  explicit SentencePieceModel(const std::filesystem::path& path);
  // The same from the file's bytes (already read, e.g. by a fuzzer); `name` names them in errors.
  static SentencePieceModel from_bytes(std::string_view bytes, std::filesystem::path name);
  SentencePieceModel(SentencePieceModel&&) noexcept;
  ~SentencePieceModel();

  // Appends the ids of `normalized` text (spaces already "▁"). Thread-safe.
  void encode(std::string_view normalized, std::vector<int64_t>& ids) const;

  int64_t size() const;
  // The piece of an id in [0, size()).
  std::string_view piece(int64_t id) const;
  std::optional<int64_t> find(std::string_view piece) const;
  // Control pieces (<bos>, <eos>, <pad>) and user-defined pieces ("<start_of_turn>"), which
  // transformers' conversion turns into added tokens.
  bool is_control(int64_t id) const;
  bool is_user_defined(int64_t id) const;

 private:
  SentencePieceModel(std::string_view bytes, std::filesystem::path name);
  std::filesystem::path path_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::vector<uint64_t> piece_types_;  // sentencepiece_model.proto's SentencePiece.Type, by id
};

}  // namespace gemma::detail
