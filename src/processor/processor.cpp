#include "gemma/processor.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include "gemma/chat_template.h"
#include "gemma/error.h"
#include "media/image_decode.h"
#include "media/source.h"
#include "media/video_frames.h"

namespace gemma {

namespace {

std::string repeat(const std::string& token, int64_t times) {
  std::string out;
  out.reserve(token.size() * times);
  for (int64_t i = 0; i < times; ++i) out += token;
  return out;
}

// One conversation with its media loaded: video parts became image parts (one per sampled frame)
// and long audio parts became several clips, so the template sees one part per soft-token block.
// Images are kept as the processor's pixel_values rows ([1, 3, H, W]), made right after decoding,
// so that memory never holds more than one full-size image.
struct Prepared {
  Conversation conversation;
  std::vector<at::Tensor> pixel_values;
  std::vector<Audio> clips;
  std::vector<std::string> clip_names;  // how errors name each clip's source
};

// transformers stacks the images, which fails on different sizes (only without do_resize).
at::Tensor stack_pixel_values(const std::vector<at::Tensor>& rows) {
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].sizes() != rows.front().sizes()) {
      throw InvalidArgumentError(fmt::format(
          "ImageProcessor::preprocess: without do_resize all images need one size; image {} is "
          "{}x{}, image 0 is {}x{}",
          i, rows[i].size(3), rows[i].size(2), rows.front().size(3), rows.front().size(2)));
    }
  }
  return at::cat(rows);
}

std::string describe(const ContentPart& part, std::string_view kind) {
  return part.source.empty() ? fmt::format("{} given as samples", kind)
                             : fmt::format("{} '{}'", kind, part.source);
}

}  // namespace

struct Processor::Impl {
  Tokenizer tokenizer;
  ChatTemplate chat_template;
  ImageProcessor image_processor;
  AudioFeatureExtractor feature_extractor;
  ProcessorConfig config;
  std::string image_token = {}, audio_token = {};
  std::string full_image_sequence = {}, full_audio_sequence = {};
  int64_t image_token_id = -1, audio_token_id = -1, pad_token_id = 0;

  Prepared prepare(const Conversation& conversation, const ChatTemplateOptions& options,
                   media::PixelBudget& budget, std::vector<std::string>& notices) const;
  void add_audio(const ContentPart& part, const ChatTemplateOptions& options, Prepared& out,
                 Message& message, std::vector<std::string>& notices) const;
  std::string expand(const std::string& rendered, size_t images, size_t clips) const;
  AudioFeatures features_per_clip(const std::vector<Audio>& clips) const;
};

// Each clip's features as extract() gives them alone; frames past a clip's end are zeros (what the
// tower's convolutions pad with) and masked, so the tower sees every clip as it would alone.
AudioFeatures Processor::Impl::features_per_clip(const std::vector<Audio>& clips) const {
  std::vector<AudioFeatures> each;
  int64_t frames = 0;
  for (const auto& clip : clips) {
    each.push_back(feature_extractor.extract({clip}));
    frames = std::max(frames, each.back().input_features.size(1));
  }
  const auto& first = each.front().input_features;
  AudioFeatures out;
  out.input_features = at::zeros({static_cast<int64_t>(clips.size()), frames, first.size(2)},
                                 first.options());
  out.input_features_mask =
      at::zeros({static_cast<int64_t>(clips.size()), frames}, at::TensorOptions().dtype(at::kBool));
  for (size_t i = 0; i < each.size(); ++i) {
    const auto n = each[i].input_features.size(1);
    out.input_features[i].narrow(0, 0, n).copy_(each[i].input_features[0]);
    out.input_features_mask[i].narrow(0, 0, n).copy_(each[i].input_features_mask[0]);
  }
  return out;
}

void Processor::Impl::add_audio(const ContentPart& part, const ChatTemplateOptions& options,
                                Prepared& out, Message& message,
                                std::vector<std::string>& notices) const {
  const int64_t rate = feature_extractor.config().sampling_rate;
  Audio audio = part.audio ? audio_from_samples(part.audio->samples, part.audio->sample_rate, 1,
                                                rate, options.audio_load)
                           : load_audio(part.source, rate, options.audio_load, options.media);
  const int64_t limit = feature_extractor.config().max_length;
  std::vector<Audio> clips;
  try {
    clips = split_long_audio(audio, limit, options.long_audio);
  } catch (const ProcessorError& e) {
    throw ProcessorError(fmt::format("{}: {}", describe(part, "audio"), e.message()));
  }
  if (static_cast<int64_t>(audio.samples.size()) > limit) {
    notices.push_back(
        options.long_audio == LongAudio::kSplit
            ? fmt::format("{} ({:.1f} s) is longer than {:.0f} s: split into {} clips",
                          describe(part, "audio"), audio.duration_seconds(),
                          double(limit) / double(rate), clips.size())
            : fmt::format("{} ({:.1f} s) is longer than {:.0f} s: truncated",
                          describe(part, "audio"), audio.duration_seconds(),
                          double(limit) / double(rate)));
  }
  for (auto& clip : clips) {
    ContentPart placeholder;
    placeholder.type = ContentPart::Type::kAudio;
    message.content.push_back(std::move(placeholder));
    out.clips.push_back(std::move(clip));
    out.clip_names.push_back(describe(part, "audio"));
  }
}

Prepared Processor::Impl::prepare(const Conversation& conversation,
                                  const ChatTemplateOptions& options, media::PixelBudget& budget,
                                  std::vector<std::string>& notices) const {
  Prepared out;
  for (const auto& message : conversation) {
    Message copy{message.role, {}, message.content_is_string};
    for (const auto& part : message.content) {
      ContentPart placeholder;
      placeholder.type = ContentPart::Type::kImage;
      switch (part.type) {
        case ContentPart::Type::kText:
          copy.content.push_back(part);
          break;
        case ContentPart::Type::kImage: {
          if (part.image) {
            out.pixel_values.push_back(image_processor.preprocess_image(*part.image));
          } else {
            const auto bytes = media::read_media(part.source, "image", options.media);
            out.pixel_values.push_back(image_processor.preprocess_image(
                media::decode_image(bytes.bytes, bytes.name, options.media, &budget)));
          }
          copy.content.push_back(placeholder);
          break;
        }
        case ContentPart::Type::kVideo: {
          std::vector<at::Tensor> frames;
          const size_t count = media::sample_video(
              part.source, options.video, options.media, &budget, [&](Image frame, size_t index) {
                frames.resize(index + 1);
                frames[index] = image_processor.preprocess_image(frame);
              });
          for (size_t i = 0; i < count; ++i) {
            out.pixel_values.push_back(std::move(frames[i]));
            copy.content.push_back(placeholder);
          }
          break;
        }
        case ContentPart::Type::kAudio:
          add_audio(part, options, out, copy, notices);
          break;
      }
    }
    out.conversation.push_back(std::move(copy));
  }
  return out;
}

// transformers' get_text_with_replacements: every placeholder the template wrote becomes the full
// sequence, and there must be exactly one per image / clip.
std::string Processor::Impl::expand(const std::string& rendered, size_t images,
                                    size_t clips) const {
  std::string out;
  size_t seen_images = 0, seen_clips = 0, pos = 0;
  while (pos < rendered.size()) {
    const size_t i = rendered.find(image_token, pos), a = rendered.find(audio_token, pos);
    const size_t next = std::min(i, a);
    if (next == std::string::npos) break;
    out.append(rendered, pos, next - pos);
    if (next == i) {
      out += full_image_sequence;
      ++seen_images;
      pos = i + image_token.size();
    } else {
      out += full_audio_sequence;
      ++seen_clips;
      pos = a + audio_token.size();
    }
  }
  out.append(rendered, std::min(pos, rendered.size()));
  if (seen_images != images) {
    throw ProcessorError(fmt::format(
        "the prompt has {} {} placeholders but {} images were given", seen_images, image_token,
        images));
  }
  if (seen_clips != clips) {
    throw ProcessorError(fmt::format(
        "the prompt has {} {} placeholders but {} audio clips were given", seen_clips, audio_token,
        clips));
  }
  return out;
}

Processor::Processor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Processor::Processor(Processor&&) noexcept = default;
Processor& Processor::operator=(Processor&&) noexcept = default;
Processor::~Processor() = default;

Processor Processor::from_pretrained(const std::filesystem::path& model,
                                     const HubOptions& hub) {
  const auto model_dir = resolve_model(model.string(), hub);
  const auto tokens = load_tokenizer_config(model_dir);
  auto impl = std::unique_ptr<Impl>(new Impl{
      Tokenizer::from_pretrained(model_dir), ChatTemplate::load(model_dir),
      ImageProcessor(load_image_processor_config(model_dir)),
      AudioFeatureExtractor(load_audio_feature_config(model_dir)),
      load_processor_config(model_dir)});
  impl->image_token = tokens.image_token.empty() ? "<image_soft_token>" : tokens.image_token;
  impl->audio_token = tokens.audio_token.empty() ? "<audio_soft_token>" : tokens.audio_token;
  impl->full_image_sequence =
      fmt::format("\n\n{}{}{}\n\n", tokens.boi_token,
                  repeat(impl->image_token, impl->config.image_seq_length), tokens.eoi_token);
  impl->full_audio_sequence =
      fmt::format("\n\n{}{}{}\n\n", tokens.boa_token,
                  repeat(impl->audio_token, impl->config.audio_seq_length), tokens.eoa_token);
  impl->image_token_id = impl->tokenizer.token_to_id(impl->image_token).value_or(-1);
  impl->audio_token_id = impl->tokenizer.token_to_id(impl->audio_token).value_or(-1);
  impl->pad_token_id = impl->tokenizer.pad_token_id().value_or(0);
  return Processor(std::move(impl));
}

std::string Processor::render(const Conversation& conversation, bool add_generation_prompt) const {
  return impl_->chat_template.render(to_json(conversation), add_generation_prompt);
}

BatchEncoding Processor::apply_chat_template(const Conversation& conversation,
                                             const ChatTemplateOptions& options) const {
  return apply_chat_template(std::vector<Conversation>{conversation}, options);
}

BatchEncoding Processor::apply_chat_template(const std::vector<Conversation>& conversations,
                                             const ChatTemplateOptions& options) const {
  if (conversations.empty()) throw InvalidArgumentError("apply_chat_template: no conversations");
  BatchEncoding batch;
  std::vector<std::vector<int64_t>> rows;
  std::vector<at::Tensor> pixel_values;
  std::vector<Audio> clips;
  std::vector<std::string> clip_names;
  media::PixelBudget budget(options.media.max_request_pixels);
  for (const auto& conversation : conversations) {
    auto prepared = impl_->prepare(conversation, options, budget, batch.notices);
    const auto rendered =
        impl_->chat_template.render(to_json(prepared.conversation), options.add_generation_prompt,
                                    {}, "messages", options.template_limits);
    batch.text.push_back(
        impl_->expand(rendered, prepared.pixel_values.size(), prepared.clips.size()));
    // The template writes <bos> itself.
    rows.push_back(impl_->tokenizer.encode(batch.text.back(), /*add_special_tokens=*/false));
    for (auto& rows_of_image : prepared.pixel_values)
      pixel_values.push_back(std::move(rows_of_image));
    for (auto& clip : prepared.clips) clips.push_back(std::move(clip));
    for (auto& name : prepared.clip_names) clip_names.push_back(std::move(name));
  }

  size_t longest = 0;
  for (const auto& row : rows) longest = std::max(longest, row.size());
  const auto b = static_cast<int64_t>(rows.size()), t = static_cast<int64_t>(longest);
  const auto long_options = at::TensorOptions().dtype(at::kLong);
  batch.input_ids = at::full({b, t}, impl_->pad_token_id, long_options);
  batch.attention_mask = at::zeros({b, t}, long_options);
  batch.token_type_ids = at::zeros({b, t}, long_options);
  for (int64_t r = 0; r < b; ++r) {
    const auto& row = rows[r];
    const int64_t start = t - static_cast<int64_t>(row.size());  // left padding
    auto* ids = batch.input_ids[r].data_ptr<int64_t>();
    auto* mask = batch.attention_mask[r].data_ptr<int64_t>();
    auto* types = batch.token_type_ids[r].data_ptr<int64_t>();
    for (size_t j = 0; j < row.size(); ++j) {
      ids[start + j] = row[j];
      mask[start + j] = 1;
      types[start + j] = row[j] == impl_->image_token_id ? 1 : row[j] == impl_->audio_token_id ? 3 : 0;
    }
  }
  if (!pixel_values.empty()) batch.pixel_values = stack_pixel_values(pixel_values);
  if (!clips.empty()) {
    AudioFeatures features;
    try {
      features = options.audio_features_per_clip ? impl_->features_per_clip(clips)
                                                 : impl_->feature_extractor.extract(clips);
    } catch (const ProcessorError& e) {
      const auto more = clip_names.size() - 1;
      throw ProcessorError(fmt::format("{}{}: {}", clip_names.front(),
                                       more ? fmt::format(" (and {} more clips)", more) : "",
                                       e.message()));
    }
    batch.input_features = std::move(features.input_features);
    batch.input_features_mask = std::move(features.input_features_mask);
  }
  return batch;
}

std::vector<std::string> Processor::batch_decode(std::span<const std::vector<int64_t>> sequences,
                                                 bool skip_special_tokens) const {
  return impl_->tokenizer.batch_decode(sequences, skip_special_tokens);
}

const Tokenizer& Processor::tokenizer() const { return impl_->tokenizer; }
const ImageProcessor& Processor::image_processor() const { return impl_->image_processor; }
const AudioFeatureExtractor& Processor::feature_extractor() const {
  return impl_->feature_extractor;
}
const ProcessorConfig& Processor::config() const { return impl_->config; }

}  // namespace gemma
