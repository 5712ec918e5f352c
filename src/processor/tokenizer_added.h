#pragma once
// The added tokens of a tokenizer ("<start_of_turn>", "<image_soft_token>", ...) and the way
// Hugging Face tokenizers' AddedVocabulary cuts text at them before the model sees it.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/config.h"

namespace gemma::detail {

// Either an added token's id, or normalized text for the model ("▁" for every space).
struct TextPiece {
  std::optional<int64_t> id;
  std::string text;
};

class AddedVocabulary {
 public:
  explicit AddedVocabulary(std::map<int64_t, AddedToken> tokens);

  // extract_and_normalize: tokens with normalized=false are found in the raw text, then the text
  // between them is normalized and searched for tokens with normalized=true. At each position the
  // leftmost, then longest, token wins; its single_word / lstrip / rstrip flags then apply. Empty
  // text pieces are left out. `text` must be valid UTF-8.
  std::vector<TextPiece> split(std::string_view text) const;

  const std::map<int64_t, AddedToken>& tokens() const { return tokens_; }
  // The token of an id as tokenizers' id_to_token spells it: normalized tokens normalized ("a▁b"
  // for "a b"), although find() takes the content as written.
  std::optional<std::string_view> token(int64_t id) const;
  std::optional<int64_t> find(std::string_view content) const;
  // Whether `content` is a special added token (what skip_special_tokens drops).
  bool is_special(std::string_view content) const;

 private:
  // Byte trie over token contents, for leftmost-longest matching.
  class Trie {
   public:
    void insert(std::string_view pattern, int64_t id);
    struct Match {
      int64_t id;
      size_t length;
    };
    // The longest pattern that starts at `pos`.
    std::optional<Match> longest_at(std::string_view text, size_t pos) const;

   private:
    struct Node {
      std::map<unsigned char, size_t> children;
      std::optional<int64_t> id;
    };
    std::vector<Node> nodes_{1};
  };

  struct Span {
    std::optional<int64_t> id;
    size_t begin;
    size_t end;
  };
  std::vector<Span> find_matches(std::string_view text, const Trie& trie) const;

  std::map<int64_t, AddedToken> tokens_;
  std::map<int64_t, std::string> strings_;
  std::map<std::string, int64_t, std::less<>> ids_;
  std::set<std::string, std::less<>> special_;
  Trie raw_trie_;
  Trie normalized_trie_;
};

// Gemma's normalizer: every space becomes "▁" (U+2581).
std::string normalize(std::string_view text);

}  // namespace gemma::detail
