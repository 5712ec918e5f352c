#include "processor/tokenizer_added.h"

#include <algorithm>
#include <utility>

#include "processor/tokenizer_unicode.h"

namespace gemma::detail {
namespace {

constexpr std::string_view kSpace = " ";
constexpr std::string_view kMetaSpace = "\xE2\x96\x81";  // ▁

bool ends_with_word(std::string_view text, size_t pos) {
  return pos > 0 && is_word_char(code_point_at(text, previous_code_point(text, pos)));
}

bool starts_with_word(std::string_view text, size_t pos) {
  return pos < text.size() && is_word_char(code_point_at(text, pos));
}

size_t whitespace_start_before(std::string_view text, size_t pos) {
  while (pos > 0) {
    const size_t start = previous_code_point(text, pos);
    if (!is_whitespace(code_point_at(text, start))) break;
    pos = start;
  }
  return pos;
}

size_t whitespace_end_after(std::string_view text, size_t pos) {
  while (pos < text.size() && is_whitespace(code_point_at(text, pos))) {
    pos += code_point_length(text, pos);
  }
  return pos;
}

}  // namespace

std::string normalize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t space = std::min(text.find(kSpace, pos), text.size());
    out.append(text.substr(pos, space - pos));
    if (space == text.size()) break;
    out.append(kMetaSpace);
    pos = space + 1;
  }
  return out;
}

void AddedVocabulary::Trie::insert(std::string_view pattern, int64_t id) {
  size_t node = 0;
  for (const char c : pattern) {
    const auto byte = static_cast<unsigned char>(c);
    auto it = nodes_[node].children.find(byte);
    if (it == nodes_[node].children.end()) {
      it = nodes_[node].children.emplace(byte, nodes_.size()).first;
      nodes_.emplace_back();
    }
    node = it->second;
  }
  nodes_[node].id = id;
}

std::optional<AddedVocabulary::Trie::Match> AddedVocabulary::Trie::longest_at(std::string_view text,
                                                                              size_t pos) const {
  std::optional<Match> best;
  size_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto it = nodes_[node].children.find(static_cast<unsigned char>(text[i]));
    if (it == nodes_[node].children.end()) break;
    node = it->second;
    if (nodes_[node].id) best = Match{*nodes_[node].id, i + 1 - pos};
  }
  return best;
}

AddedVocabulary::AddedVocabulary(std::map<int64_t, AddedToken> tokens)
    : tokens_(std::move(tokens)) {
  for (const auto& [id, token] : tokens_) {
    // Later ids win a shared content, as in tokenizers' content -> id map.
    ids_[token.content] = id;
    if (token.special) special_.insert(token.content);
    const std::string& string = strings_[id] =
        token.normalized ? normalize(token.content) : token.content;
    (token.normalized ? normalized_trie_ : raw_trie_).insert(string, id);
  }
}

std::optional<std::string_view> AddedVocabulary::token(int64_t id) const {
  const auto it = strings_.find(id);
  if (it == strings_.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> AddedVocabulary::find(std::string_view content) const {
  const auto it = ids_.find(content);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

bool AddedVocabulary::is_special(std::string_view content) const {
  return special_.find(content) != special_.end();
}

// tokenizers' AddedVocabulary::find_matches. A match rejected by single_word still consumes its
// bytes (the Aho-Corasick iterator has moved past it), and lstrip never reaches back past the
// previous token; rstrip may swallow the start of the next match, as in tokenizers.
std::vector<AddedVocabulary::Span> AddedVocabulary::find_matches(std::string_view text,
                                                                 const Trie& trie) const {
  std::vector<Span> spans;
  size_t start_offset = 0;
  for (size_t pos = 0; pos < text.size();) {
    const auto match = trie.longest_at(text, pos);
    if (!match) {
      pos += code_point_length(text, pos);
      continue;
    }
    size_t start = pos;
    size_t stop = pos + match->length;
    pos = stop;
    const AddedToken& token = tokens_.at(match->id);
    if (token.single_word && (ends_with_word(text, start) || starts_with_word(text, stop))) {
      continue;
    }
    if (token.lstrip) start = std::max(whitespace_start_before(text, start), start_offset);
    if (token.rstrip) stop = whitespace_end_after(text, stop);
    if (start_offset < start) spans.push_back({std::nullopt, start_offset, start});
    spans.push_back({match->id, start, stop});
    start_offset = stop;
  }
  if (start_offset < text.size()) spans.push_back({std::nullopt, start_offset, text.size()});
  return spans;
}

std::vector<TextPiece> AddedVocabulary::split(std::string_view text) const {
  std::vector<TextPiece> pieces;
  for (const Span& raw : find_matches(text, raw_trie_)) {
    if (raw.id) {
      pieces.push_back({raw.id, {}});
      continue;
    }
    const std::string normalized = normalize(text.substr(raw.begin, raw.end - raw.begin));
    for (const Span& span : find_matches(normalized, normalized_trie_)) {
      if (span.id) {
        pieces.push_back({span.id, {}});
      } else {
        pieces.push_back({std::nullopt, normalized.substr(span.begin, span.end - span.begin)});
      }
    }
  }
  return pieces;
}

}  // namespace gemma::detail
