#pragma once
/// transformers' Gemma3nProcessor: chat template, tokenizer, image processor and audio feature
/// extractor behind one apply_chat_template() call that returns model inputs.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gemma/audio.h"
#include "gemma/audio_features.h"
#include "gemma/batch_encoding.h"
#include "gemma/chat_template.h"
#include "gemma/config.h"
#include "gemma/export.h"
#include "gemma/hub.h"
#include "gemma/image.h"
#include "gemma/image_processor.h"
#include "gemma/media_limits.h"
#include "gemma/messages.h"
#include "gemma/tokenizer.h"

namespace gemma {

/// How apply_chat_template() builds a prompt from a conversation.
struct ChatTemplateOptions {
  /// End the prompt with the opening of the model's turn ("<start_of_turn>model\n").
  bool add_generation_prompt = true;
  VideoOptions video;                        ///< frame sampling for video parts
  LongAudio long_audio = LongAudio::kSplit;  ///< clips longer than 30 s: split, truncate or error
  AudioLoadOptions audio_load;               ///< e.g. the longest audio accepted at all
  /// How the clips of a batch are turned into features. false (transformers): all clips padded
  /// to the longest, where a short clip gains frames (frame i is real if sample 160·i is) that it
  /// would not have alone, so its reply can differ from running it alone. true: each clip's
  /// features exactly as alone, zero-padded (masked) to the longest, so batching never changes a
  /// row's reply; Pipeline uses this.
  bool audio_features_per_clip = false;
  /// Caps on the media of the call (sizes, download time, decoded pixels over all images and
  /// frames); see gemma/media_limits.h.
  MediaLimits media;
  /// Budgets for rendering the chat template; see gemma/chat_template.h.
  TemplateLimits template_limits;
};

/// Loaded from a model directory; immutable afterwards, so one Processor may serve several threads.
/// Move-only; owns its tokenizer, chat template, image processor and feature extractor.
class GEMMA_API Processor {
 public:
  /// Reads the tokenizer, chat template, preprocessor_config.json and processor_config.json of a
  /// local directory or a hub id (resolve_model()). Throws what Tokenizer::from_pretrained,
  /// ChatTemplate::load and the config loaders throw, naming the file.
  static Processor from_pretrained(const std::filesystem::path& model, const HubOptions& hub = {});

  /// Move-only.
  Processor(Processor&&) noexcept;
  Processor& operator=(Processor&&) noexcept;
  ~Processor();

  /// apply_chat_template(messages, tokenize=False): the template's text, placeholders unexpanded.
  std::string render(const Conversation& conversation, bool add_generation_prompt = true) const;

  /// apply_chat_template(messages, tokenize=True, return_dict=True, padding=True): loads every
  /// image / audio / video part, expands each image to "\n\n<start_of_image>" + N x
  /// <image_soft_token> + "<end_of_image>\n\n" (N from processor_config.json) and each audio clip
  /// likewise with <audio_soft_token>, tokenizes and left-pads the batch. Clips longer than the
  /// feature extractor's max_length (30 s) follow options.long_audio. Throws IoError /
  /// ProcessorError naming the input that cannot be loaded, InvalidArgumentError for malformed
  /// messages. Runs on the CPU (URLs are fetched here); the tensors are CPU tensors, which
  /// Model::forward / generate move to the model's device.
  BatchEncoding apply_chat_template(const Conversation& conversation,
                                    const ChatTemplateOptions& options = {}) const;
  /// A batch: one row per conversation, left-padded to the longest; media of all rows in order.
  /// InvalidArgumentError for an empty list.
  BatchEncoding apply_chat_template(const std::vector<Conversation>& conversations,
                                    const ChatTemplateOptions& options = {}) const;

  /// batch_decode(sequences, skip_special_tokens): e.g. GenerateResult::tokens to text.
  std::vector<std::string> batch_decode(std::span<const std::vector<int64_t>> sequences,
                                        bool skip_special_tokens = true) const;

  /// The parts, valid as long as this Processor (they are immutable and thread-safe too).
  const Tokenizer& tokenizer() const;
  const ImageProcessor& image_processor() const;
  const AudioFeatureExtractor& feature_extractor() const;
  const ProcessorConfig& config() const;

 private:
  struct Impl;
  explicit Processor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemma
