// Recipe "multimodal RAG" (huggingface-gemma-recipes, MultimodalRAGSystem): documents of text,
// optionally with an image or an audio clip, are indexed; a query retrieves the top_k best ones,
// whose text becomes the context of the prompt and whose media go into the same user turn. Where
// the recipe keeps documents that contain the whole query, this ranks them with Okapi BM25
// (k1 = 1.5, b = 0.75) over lowercase words.
//
//   gemma_example_multimodal_rag [--model DIR_OR_HUB_ID] [--query TEXT] [--top-k 3]
//       [--max-new-tokens 128] [--seed N] [--device cuda] [--dtype bfloat16]
// Run from the repository root: the demo documents use media under tests/data/.
#include <gemma/error.h>
#include <gemma/pipeline.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>

#include "common/args.h"

namespace {

// Lowercase words: ASCII letters and digits, plus every non-ASCII byte so that words of other
// scripts (UTF-8) stay whole; everything else separates words.
std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out(1);
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || std::isalnum(u)) {
      out.back() += static_cast<char>(std::tolower(u));
    } else if (!out.back().empty()) {
      out.emplace_back();
    }
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

// Okapi BM25: score(q, d) = sum over query words t of
//   idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl)),
// idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)), which stays positive for common words.
class Bm25Index {
 public:
  void add(std::string_view text) {
    const auto terms = words(text);
    std::map<std::string, int, std::less<>> counts;
    for (const auto& term : terms) ++counts[term];
    for (const auto& [term, count] : counts) ++document_frequency_[term];
    term_counts_.push_back(std::move(counts));
    lengths_.push_back(static_cast<double>(terms.size()));
    total_length_ += static_cast<double>(terms.size());
  }

  double score(size_t doc, const std::vector<std::string>& query) const {
    const double n = static_cast<double>(lengths_.size());
    const double length_norm = 1 - kB + kB * lengths_[doc] / (total_length_ / n);
    double total = 0;
    for (const auto& term : query) {
      const auto tf_it = term_counts_[doc].find(term);
      if (tf_it == term_counts_[doc].end()) continue;
      const double df = document_frequency_.find(term)->second;
      const double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
      const double tf = tf_it->second;
      total += idf * tf * (kK1 + 1) / (tf + kK1 * length_norm);
    }
    return total;
  }

 private:
  static constexpr double kK1 = 1.5, kB = 0.75;
  std::vector<std::map<std::string, int, std::less<>>> term_counts_;
  std::map<std::string, int, std::less<>> document_frequency_;
  std::vector<double> lengths_;
  double total_length_ = 0;
};

struct Document {
  std::string id, text;
  std::optional<std::string> image = {}, audio = {};  // paths or URLs
};

struct Hit {
  const Document* document;
  double score;
};

class MultimodalRAG {
 public:
  explicit MultimodalRAG(const gemma::Pipeline& pipe) : pipe_(pipe) {}

  void add_document(Document document) {
    index_.add(document.text);
    documents_.push_back(std::move(document));
  }

  /// The top_k documents with a positive score, best first (ties keep insertion order).
  std::vector<Hit> search(std::string_view query, size_t top_k) const {
    const auto terms = words(query);
    std::vector<Hit> hits;
    for (size_t i = 0; i < documents_.size(); ++i) {
      if (const double s = index_.score(i, terms); s > 0) hits.push_back({&documents_[i], s});
    }
    std::stable_sort(hits.begin(), hits.end(),
                     [](const Hit& a, const Hit& b) { return a.score > b.score; });
    if (hits.size() > top_k) hits.resize(top_k);
    return hits;
  }

  /// The retrieved documents' media, then their text as context and the question, in one turn.
  gemma::PipelineResult generate(std::string_view query, const std::vector<Hit>& hits,
                                 const gemma::GenerationConfig& config) const {
    std::vector<gemma::ContentPart> parts;
    std::string context;
    for (const auto& hit : hits) {
      if (hit.document->image) parts.push_back(gemma::chat::image(*hit.document->image));
      if (hit.document->audio) parts.push_back(gemma::chat::audio(*hit.document->audio));
      context += "[" + hit.document->id + "] " + hit.document->text + "\n";
    }
    if (context.empty()) context = "(no matching documents)\n";
    parts.push_back(
        gemma::chat::text("Context:\n" + context + "\nQuestion: " + std::string(query)));
    return pipe_({gemma::chat::user(std::move(parts))}, config);
  }

 private:
  const gemma::Pipeline& pipe_;
  std::vector<Document> documents_;
  Bm25Index index_;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto query = args.text("query", "Who developed the Gemma models?");
    const auto top_k = args.integer("top-k", 3);
    if (top_k < 1) throw gemma::InvalidArgumentError("--top-k must be at least 1");
    const auto config = examples::generation_config(args, {.max_new_tokens = 128});
    const auto options = examples::pipeline_options(args);
    const auto model = examples::model_id(args);
    args.reject_unknown();
    const auto pipe = gemma::pipeline("image-text-to-text", model, options);

    MultimodalRAG rag(pipe);
    rag.add_document({"gemma", "Gemma is a family of open models developed by Google DeepMind."});
    rag.add_document({"multimodal", "Multimodal AI understands text, images and audio together."});
    rag.add_document({"colour-field",
                      "A blurry field of colours: blue, green, pink and purple patches.",
                      "tests/data/images/rgb_landscape_256x160.png"});
    rag.add_document({"fox-recording",
                      "A short speech recording: a synthetic voice reads a sentence about a quick "
                      "brown fox.",
                      std::nullopt, "tests/data/audio/speech_espeak_22k.wav"});
    rag.add_document({"per-layer-embeddings",
                      "Per-layer embeddings let Gemma 3n run with the memory of a smaller model."});
    rag.add_document(
        {"long-audio",
         "Audio longer than thirty seconds is split into clips for the audio encoder."});

    const auto hits = rag.search(query, static_cast<size_t>(top_k));
    std::cout << "query: " << query << "\nretrieved " << hits.size() << " documents:\n";
    for (size_t i = 0; i < hits.size(); ++i) {
      std::printf("  %zu. %s (score %.4f)\n", i + 1, hits[i].document->id.c_str(), hits[i].score);
    }
    const auto output = rag.generate(query, hits, config);
    std::cout << "answer (" << output.tokens.size() << " tokens): " << output.text << "\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
