#pragma once
/// Tier 1: transformers' pipeline() for Gemma 3n.
///
///     auto pipe = gemma::pipeline("image-text-to-text", "google/gemma-3n-E2B-it");
///     using namespace gemma::chat;
///     auto out = pipe({user({image("cat.png"), text("Describe this image.")})},
///                     {.max_new_tokens = 64});
///     std::cout << out.text;  // out.generated_text is the conversation plus the reply
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/export.h"
#include "gemma/generation.h"
#include "gemma/generation_config.h"
#include "gemma/hub.h"
#include "gemma/messages.h"
#include "gemma/model.h"
#include "gemma/processor.h"
#include "gemma/text_stream.h"

namespace gemma {

/// How pipeline() loads the model; transformers' pipeline(device=..., torch_dtype=...) arguments.
struct PipelineOptions {
  std::string device = "cpu";     ///< "cpu", "cuda" or "cuda:N"
  std::string dtype = "float32";  ///< "float32", "bfloat16" or "int8" (ModelOptions::dtype)
  /// Conversations generated together in one batch (one forward per step for the batch) by the
  /// list overload of operator(); values below 1 count as 1.
  int64_t batch_size = 8;
  /// Load the vision / audio towers; default: yes for "image-text-to-text", no for
  /// "text-generation" (a text-only user does not pay for them).
  std::optional<bool> load_vision = {};
  std::optional<bool> load_audio = {};
  ChatTemplateOptions chat = {};  ///< video sampling, long-audio policy
  HubOptions hub = {};            ///< how a hub id is resolved / downloaded
  std::filesystem::path adapter = {};  ///< a LoRA adapter merged on load (ModelOptions::adapter)
};

/// What transformers' pipeline returns for one conversation.
struct PipelineResult {
  Conversation generated_text;  ///< the input conversation with the assistant reply appended
  std::string text;             ///< the reply alone (return_full_text=False)
  std::vector<int64_t> tokens;  ///< the reply's token ids, EOS included
  GenerationStats stats;        ///< of the batch this conversation was generated in
  std::vector<std::string> notices;  ///< from the processor, e.g. long audio split into clips
};

/// A loaded model + processor. Copies are cheap and share them (and the weights); calls are const
/// and one Pipeline may serve several threads, each call generating on its own KV cache.
class GEMMA_API Pipeline {
 public:
  /// One conversation. `on_text` streams the reply as it is generated (return false to stop), on
  /// the calling thread, with row 0. Throws what Processor::apply_chat_template and Model::generate
  /// throw.
  PipelineResult operator()(const Conversation& conversation, const GenerationConfig& config = {},
                            const TextCallback& on_text = {}) const;
  /// Several conversations, generated in batches of options.batch_size (left-padded); results in
  /// input order, each with the stats and notices of its batch.
  std::vector<PipelineResult> operator()(const std::vector<Conversation>& conversations,
                                         const GenerationConfig& config = {}) const;

  /// Pull-style streaming of one conversation's reply: generation runs on a background thread
  /// while the caller iterates the pieces. The stream copies `conversation` and `config` and keeps
  /// the model alive, so it may outlive this Pipeline; errors are rethrown by TextStream::next().
  TextStream stream(const Conversation& conversation, const GenerationConfig& config = {}) const;

  /// The loaded model and processor, for the lower tiers; valid while any copy of this Pipeline
  /// lives.
  const Model& model() const;
  const Processor& processor() const;
  /// "image-text-to-text" or "text-generation", as given to pipeline().
  const std::string& task() const;

 private:
  friend GEMMA_API Pipeline pipeline(std::string_view, std::string_view, const PipelineOptions&);
  struct Impl;
  explicit Pipeline(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

/// `pipeline(task, model)`: task "image-text-to-text" or "text-generation"; model a local
/// directory or a hub id (resolved / downloaded as resolve_model() does). Throws
/// InvalidArgumentError for an unknown task, and whatever loading throws.
GEMMA_API Pipeline pipeline(std::string_view task, std::string_view model,
                            const PipelineOptions& options = {});

}  // namespace gemma
