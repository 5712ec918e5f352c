#include "gemma/pipeline.h"

#include <fmt/format.h>

#include <span>

#include "gemma/error.h"

namespace gemma {

struct Pipeline::Impl {
  std::string task;
  Model model;
  Processor processor;
  PipelineOptions options;

  std::vector<PipelineResult> run(std::span<const Conversation> batch,
                                  const GenerationConfig& config,
                                  const TextCallback& on_text) const;
};

std::vector<PipelineResult> Pipeline::Impl::run(std::span<const Conversation> batch,
                                                const GenerationConfig& config,
                                                const TextCallback& on_text) const {
  // A row's reply must not depend on the rows batched with it.
  auto chat = options.chat;
  chat.audio_features_per_clip = true;
  const auto inputs = processor.apply_chat_template(
      std::vector<Conversation>(batch.begin(), batch.end()), chat);
  const auto& tokenizer = processor.tokenizer();
  const auto generated = on_text ? model.generate(inputs, config, tokenizer, on_text)
                                 : model.generate(inputs, config, {}, &tokenizer);
  std::vector<PipelineResult> results;
  for (size_t row = 0; row < batch.size(); ++row) {
    PipelineResult r;
    r.tokens = generated.tokens[row];
    r.text = tokenizer.decode(r.tokens, /*skip_special_tokens=*/true);
    r.generated_text = batch[row];
    r.generated_text.push_back(chat::assistant(r.text));
    r.stats = generated.stats;
    r.notices = inputs.notices;
    results.push_back(std::move(r));
  }
  return results;
}

Pipeline::Pipeline(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

PipelineResult Pipeline::operator()(const Conversation& conversation,
                                    const GenerationConfig& config,
                                    const TextCallback& on_text) const {
  return std::move(impl_->run({&conversation, 1}, config, on_text).front());
}

std::vector<PipelineResult> Pipeline::operator()(const std::vector<Conversation>& conversations,
                                                 const GenerationConfig& config) const {
  std::vector<PipelineResult> results;
  const auto size = static_cast<size_t>(std::max<int64_t>(1, impl_->options.batch_size));
  for (size_t start = 0; start < conversations.size(); start += size) {
    const auto count = std::min(size, conversations.size() - start);
    for (auto& r : impl_->run({conversations.data() + start, count}, config, {}))
      results.push_back(std::move(r));
  }
  return results;
}

TextStream Pipeline::stream(const Conversation& conversation,
                            const GenerationConfig& config) const {
  // The stream holds the model and processor alive itself.
  return TextStream([impl = impl_, conversation, config](const TextStream::Sink& sink) {
    impl->run({&conversation, 1}, config,
              [&](int64_t, std::string_view piece) { return sink(piece); });
  });
}

const Model& Pipeline::model() const { return impl_->model; }
const Processor& Pipeline::processor() const { return impl_->processor; }
const std::string& Pipeline::task() const { return impl_->task; }

Pipeline pipeline(std::string_view task, std::string_view model, const PipelineOptions& options) {
  if (task != "image-text-to-text" && task != "text-generation") {
    throw InvalidArgumentError(fmt::format(
        "pipeline task '{}' is not supported; use image-text-to-text or text-generation", task));
  }
  const bool multimodal = task == "image-text-to-text";
  const auto dir = resolve_model(model, options.hub);
  ModelOptions model_options;
  model_options.device = options.device;
  model_options.dtype = options.dtype;
  model_options.load_vision = options.load_vision.value_or(multimodal);
  model_options.load_audio = options.load_audio.value_or(multimodal);
  model_options.adapter = options.adapter;
  auto impl = std::make_shared<Pipeline::Impl>(
      Pipeline::Impl{std::string(task), Model::from_pretrained(dir, model_options),
                     Processor::from_pretrained(dir), options});
  return Pipeline(std::move(impl));
}

}  // namespace gemma
