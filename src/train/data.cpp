#include "train/data.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/randperm.h>
#include <ATen/ops/zeros_like.h>
#include <fmt/format.h>

#include <sstream>

#include "gemma/error.h"
#include "media/source.h"
#include "model/model_impl.h"
#include "util/json.h"

namespace gemma::train {
namespace {

bool is_relative_path(const std::string& source) {
  if (source.empty() || media::is_data_uri(source) || source.find("://") != std::string::npos)
    return false;
  return std::filesystem::path(source).is_relative();
}

void resolve_media(Conversation& conversation, const std::filesystem::path& base) {
  for (auto& message : conversation) {
    for (auto& part : message.content) {
      if (part.type != ContentPart::Type::kText && is_relative_path(part.source))
        part.source = (base / part.source).lexically_normal().string();
    }
  }
}

// Where in a conversation's token sequence each assistant turn starts and ends: the prefix
// rendered with a generation prompt ends where the turn's content starts.
std::vector<std::pair<int64_t, int64_t>> assistant_spans(const Processor& processor,
                                                         const Conversation& conversation,
                                                         const ChatTemplateOptions& base) {
  std::vector<std::pair<int64_t, int64_t>> spans;
  auto length = [&](std::size_t messages, bool prompt) {
    Conversation prefix(conversation.begin(), conversation.begin() + messages);
    auto options = base;
    options.add_generation_prompt = prompt;
    return processor.apply_chat_template(prefix, options).input_ids.size(1);
  };
  for (std::size_t i = 0; i < conversation.size(); ++i) {
    const auto& role = conversation[i].role;
    if (role != "assistant" && role != "model") continue;
    spans.emplace_back(length(i, true), length(i + 1, false));
  }
  return spans;
}

}  // namespace

std::vector<Example> read_examples(const std::filesystem::path& path) {
  const auto text = read_messages_file(path);
  const auto base = path.parent_path();
  std::vector<Example> examples;
  std::istringstream lines(text);
  std::string line;
  for (int64_t number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto source = fmt::format("{}:{}", path.string(), number);
    auto doc = util::parse_json<InvalidArgumentError>(line, source);
    if (doc.is_object()) {
      if (!doc.contains("messages"))
        throw InvalidArgumentError(fmt::format("{}: a line needs a \"messages\" list", source));
      doc = doc["messages"];
    }
    Example example{parse_conversation(doc.dump(), source), source};
    if (example.conversation.empty())
      throw InvalidArgumentError(fmt::format("{}: the conversation has no messages", source));
    resolve_media(example.conversation, base);
    examples.push_back(std::move(example));
  }
  if (examples.empty()) {
    throw InvalidArgumentError(fmt::format("{}: no conversations (one JSON object per line)",
                                           path.string()));
  }
  return examples;
}

Batch collate(const Processor& processor, const ModelConfig& config,
              std::span<const Example* const> examples, const CollateOptions& options) {
  std::vector<Conversation> conversations;
  for (const auto* example : examples) conversations.push_back(example->conversation);
  ChatTemplateOptions template_options;
  template_options.add_generation_prompt = false;
  auto encoding = processor.apply_chat_template(conversations, template_options);

  const auto rows = encoding.input_ids.size(0), width = encoding.input_ids.size(1);
  const int64_t limit = options.max_length > 0 ? options.max_length
                                               : config.text.max_position_embeddings;
  if (width > limit) {
    for (int64_t row = 0; row < rows; ++row) {
      const auto length = encoding.attention_mask[row].sum().item<int64_t>();
      if (length > limit) {
        throw InvalidArgumentError(fmt::format(
            "{}: the conversation is {} tokens, over the limit of {} ({})", examples[row]->source,
            length, limit, options.max_length > 0 ? "--max-length" : "the model's context"));
      }
    }
  }

  auto labels = encoding.input_ids.clone();
  const auto pad = processor.tokenizer().pad_token_id().value_or(0);
  for (int64_t id : {pad, config.image_token_id, config.audio_token_id, config.boi_token_id,
                     config.eoi_token_id, config.boa_token_id, config.eoa_token_id}) {
    labels.masked_fill_(encoding.input_ids == id, kIgnoreIndex);
  }
  labels.masked_fill_(encoding.attention_mask == 0, kIgnoreIndex);
  if (options.assistant_only_loss) {
    auto keep = at::zeros_like(labels, labels.options().dtype(at::kBool));
    for (int64_t row = 0; row < rows; ++row) {
      const auto padding = width - encoding.attention_mask[row].sum().item<int64_t>();
      for (auto [begin, end] : assistant_spans(processor, conversations[row], template_options))
        keep[row].narrow(0, padding + begin, end - begin).fill_(true);
    }
    labels.masked_fill_(keep.logical_not(), kIgnoreIndex);
  }

  Batch batch;
  batch.input_ids = encoding.input_ids.to(options.device);
  batch.attention_mask = encoding.attention_mask.to(options.device);
  batch.position_ids =
      at::arange(width, batch.input_ids.options()).unsqueeze(0).expand({rows, width});
  batch.labels = labels.to(options.device);
  batch.media = model::media_inputs(encoding, options.device);
  return batch;
}

// The samples each rank reads in `epoch`: torch.randperm(n) seeded with seed + epoch, padded by
// wrapping to a multiple of the world size and strided by rank (DistributedSampler's order; with
// one process, the same permutation).
std::vector<int64_t> epoch_order(int64_t n, int64_t seed, int64_t epoch, int rank, int world) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed + epoch));
  auto perm = at::randperm(n, generator, at::TensorOptions().dtype(at::kLong));
  std::vector<int64_t> all(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
  const int64_t total = (n + world - 1) / world * world;
  for (int64_t i = n; i < total; ++i) all.push_back(all[i - n]);
  std::vector<int64_t> mine;
  for (int64_t i = rank; i < total; i += world) mine.push_back(all[i]);
  return mine;
}

std::vector<std::vector<const Example*>> micro_batches(const std::vector<Example>& examples,
                                                       const std::vector<int64_t>& order,
                                                       int64_t batch_size) {
  std::vector<std::vector<const Example*>> batches;
  for (std::size_t i = 0; i < order.size(); i += batch_size) {
    std::vector<const Example*> batch;
    for (std::size_t j = i; j < std::min(order.size(), i + batch_size); ++j)
      batch.push_back(&examples[order[j]]);
    batches.push_back(std::move(batch));
  }
  return batches;
}

at::Tensor causal_lm_loss(model::ForConditionalGenerationImpl& model, const Batch& batch) {
  model::ForwardInputs in;
  in.input_ids = batch.input_ids;
  in.attention_mask = batch.attention_mask;
  in.position_ids = batch.position_ids;
  in.media = batch.media;
  auto logits = model.forward(in).logits.to(at::kFloat);
  // Next-token prediction: position t predicts label t + 1; the mean over labelled tokens.
  const auto t = logits.size(1);
  auto shifted_logits = logits.narrow(1, 0, t - 1).reshape({-1, logits.size(2)});
  auto shifted_labels = batch.labels.narrow(1, 1, t - 1).reshape({-1});
  if ((shifted_labels != kIgnoreIndex).sum().item<int64_t>() == 0) {
    throw InvalidArgumentError(
        "a training batch has no token to learn (every label is masked): check the data and "
        "--assistant-only-loss");
  }
  return at::cross_entropy_loss(shifted_logits, shifted_labels, {}, at::Reduction::Mean, kIgnoreIndex);
}

}  // namespace gemma::train
