// `gemma run`: chat with a model from the command line — the prompt (with any --image, --video and
// --audio inputs) goes through the processor as one user turn (or --messages gives the whole
// conversation), the reply streams to stdout, or --json prints one object with the text, the token
// ids and the statistics. Notices (e.g. long audio split into clips) go to stderr.
#include <ATen/ops/ones_like.h>
#include <ATen/ops/tensor.h>
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "gemma/error.h"
#include "gemma/hub.h"
#include "gemma/messages.h"
#include "gemma/model.h"
#include "gemma/processor.h"
#include "gemma/tokenizer.h"

namespace gemma::cli {
namespace {

struct RunOptions {
  std::string model, prompt, messages_file, device = "cpu", dtype = "float32", adapter;
  std::vector<std::string> images, videos, audio;
  double video_fps = VideoOptions{}.fps;
  int64_t max_frames = VideoOptions{}.max_frames;
  std::string long_audio = "split";
  std::optional<std::string> cache_implementation;
  double http_timeout = MediaLimits{}.http_timeout_seconds;
  std::optional<int64_t> max_new_tokens, top_k;
  std::optional<double> temperature, top_p, min_p, repetition_penalty;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool greedy = false, json = false, raw = false;
};

Conversation conversation(const RunOptions& o) {
  if (!o.messages_file.empty()) {
    return parse_conversation(read_messages_file(o.messages_file), o.messages_file);
  }
  if (o.images.empty() && o.videos.empty() && o.audio.empty()) return {chat::user(o.prompt)};
  std::vector<ContentPart> parts;
  for (const auto& image : o.images) parts.push_back(chat::image(image));
  for (const auto& video : o.videos) parts.push_back(chat::video(video));
  for (const auto& audio : o.audio) parts.push_back(chat::audio(audio));
  parts.push_back(chat::text(o.prompt));
  return {chat::user(std::move(parts))};
}

ChatTemplateOptions template_options(const RunOptions& o) {
  ChatTemplateOptions t;
  t.video.fps = o.video_fps;
  t.video.max_frames = o.max_frames;
  t.media.http_timeout_seconds = o.http_timeout;
  t.long_audio = o.long_audio == "truncate" ? LongAudio::kTruncate
                 : o.long_audio == "error"  ? LongAudio::kError
                                            : LongAudio::kSplit;
  return t;
}

BatchEncoding inputs(const RunOptions& o, const Processor& processor) {
  if (!o.raw) {
    auto batch = processor.apply_chat_template(conversation(o), template_options(o));
    for (const auto& notice : batch.notices) std::cerr << "gemma: notice: " << notice << "\n";
    return batch;
  }
  BatchEncoding batch;
  batch.input_ids = at::tensor(processor.tokenizer().encode(o.prompt), at::kLong).unsqueeze(0);
  batch.attention_mask = at::ones_like(batch.input_ids);
  return batch;
}

// transformers' default without max_length in generation_config.json is 20 new tokens, which cuts a
// real checkpoint's reply short without a word; the CLI generates until EOS, within the context.
std::optional<int64_t> max_new_tokens(const RunOptions& o, const Model& model, int64_t prompt) {
  if (o.max_new_tokens) return o.max_new_tokens;
  const auto& defaults = model.generation_defaults();
  if (defaults.max_new_tokens || defaults.max_length) return std::nullopt;
  return std::max<int64_t>(1, model.config().text.max_position_embeddings - prompt);
}

GenerationConfig generation_config(const RunOptions& o, const Model& model, int64_t prompt) {
  GenerationConfig c;
  c.max_new_tokens = max_new_tokens(o, model, prompt);
  c.temperature = o.temperature;
  c.top_k = o.top_k;
  c.top_p = o.top_p;
  c.min_p = o.min_p;
  c.repetition_penalty = o.repetition_penalty;
  c.seed = o.seed;
  c.stop_strings = o.stop;
  c.cache_implementation = o.cache_implementation;
  if (o.greedy) c.do_sample = false;
  if (o.temperature || o.top_k || o.top_p || o.min_p) c.do_sample = true;
  return c;
}

nlohmann::json stats_json(const GenerationStats& s) {
  return {{"prompt_tokens", s.prompt_tokens},
          {"new_tokens", s.new_tokens},
          {"prefill_seconds", s.prefill_seconds},
          {"decode_seconds", s.decode_seconds},
          {"time_to_first_token_seconds", s.time_to_first_token_seconds},
          {"prefill_tokens_per_second", s.prefill_tokens_per_second()},
          {"decode_tokens_per_second", s.decode_tokens_per_second()},
          {"peak_memory_bytes", s.peak_memory_bytes}};
}

int run(const RunOptions& o) {
  const auto dir = resolve_model(o.model);
  const auto processor = Processor::from_pretrained(dir);
  const auto& tokenizer = processor.tokenizer();
  const auto batch = inputs(o, processor);
  ModelOptions model_options{o.device, o.dtype};
  model_options.adapter = o.adapter;
  // Only the towers this prompt needs are loaded (--messages may name any media).
  model_options.load_vision = batch.pixel_values.defined();
  model_options.load_audio = batch.input_features.defined();
  const auto model = Model::from_pretrained(dir, model_options);

  if (!o.json) {
    model.generate(batch, generation_config(o, model, batch.input_ids.size(1)), tokenizer,
                   [](int64_t, std::string_view text) {
                     std::cout << text << std::flush;
                     return true;
                   });
    std::cout << "\n";
    return 0;
  }
  auto result =
      model.generate(batch, generation_config(o, model, batch.input_ids.size(1)), {}, &tokenizer);
  const auto& tokens = result.tokens.front();
  nlohmann::json out = {{"text", tokenizer.decode(tokens, /*skip_special_tokens=*/true)},
                        {"token_ids", tokens},
                        {"stats", stats_json(result.stats)}};
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace

Action add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Generate a reply with a model");
  auto o = std::make_shared<RunOptions>();
  cmd->add_option("--model", o->model, "Model directory or Hugging Face hub id")->required();
  auto* prompt = cmd->add_option("--prompt", o->prompt, "User message (one turn)");
  auto* messages = cmd->add_option("--messages", o->messages_file,
                                   "JSON file with a list of messages in transformers' format");
  prompt->excludes(messages);
  auto* raw = cmd->add_flag("--raw", o->raw,
                            "Feed --prompt to the model as is, without the chat template");
  raw->needs(prompt);
  for (auto* media :
       {cmd->add_option("--image", o->images, "Image path, URL or data: URI (repeatable)"),
        cmd->add_option("--video", o->videos, "Video file, sampled into frames (repeatable)"),
        cmd->add_option("--audio", o->audio, "Audio path, URL or data: URI (repeatable)")}) {
    media->needs(prompt);
    media->excludes(raw);
  }
  cmd->add_option("--video-fps", o->video_fps, "Video frames sampled per second")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-frames", o->max_frames, "At most this many frames per video")
      ->check(integer_in<int64_t>(1, kMaxVideoFrames))
      ->capture_default_str();
  cmd->add_option("--http-timeout", o->http_timeout,
                  "Seconds for downloading one http(s) image, audio or video")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--long-audio", o->long_audio,
                  "Audio longer than 30 s: split into clips, truncate, or error")
      ->check(CLI::IsMember({"split", "truncate", "error"}))
      ->capture_default_str();
  cmd->add_option("--max-new-tokens", o->max_new_tokens,
                  "Tokens to generate at most (default: until the end-of-turn token, within the "
                  "model's context, unless generation_config.json sets max_new_tokens or "
                  "max_length)")
      ->check(integer_in<int64_t>(1));
  auto* greedy = cmd->add_flag("--greedy", o->greedy, "Pick the most likely token (no sampling)");
  for (auto* opt : {cmd->add_option("--temperature", o->temperature, "Sampling temperature"),
                    cmd->add_option("--top-k", o->top_k, "Keep the k most likely tokens")
                        ->check(integer_in<int64_t>(0)),
                    cmd->add_option("--top-p", o->top_p, "Nucleus sampling mass"),
                    cmd->add_option("--min-p", o->min_p, "Min-p threshold")}) {
    opt->excludes(greedy);
  }
  cmd->add_option("--repetition-penalty", o->repetition_penalty, "Penalty for repeated tokens");
  cmd->add_option("--seed", o->seed, "Random seed for sampling")->check(integer_in<uint64_t>(0));
  cmd->add_option("--stop", o->stop, "Stop once the reply contains this string (repeatable)");
  cmd->add_option("--cache-implementation", o->cache_implementation,
                  "KV cache: dynamic (grows with the reply) or static (fixed shapes, allocated "
                  "for prompt + max new tokens at once; slower on the CPU)")
      ->check(CLI::IsMember({"dynamic", "static"}));
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--dtype", o->dtype,
                  "float32, bfloat16 or int8 (int8 weights, bfloat16 activations)")
      ->check(CLI::IsMember({"float32", "bfloat16", "int8"}))
      ->capture_default_str();
  cmd->add_option("--adapter", o->adapter, "LoRA adapter directory (PEFT format) merged on load");
  cmd->add_flag("--json", o->json, "Print one JSON object (text, token_ids, stats) at the end");
  return [cmd, o]() -> int {
    if (!*cmd) return -1;
    if (o->prompt.empty() && o->messages_file.empty()) {
      throw InvalidArgumentError("gemma run needs --prompt or --messages");
    }
    if (const auto bad = find_invalid_utf8(o->prompt)) {
      throw InvalidArgumentError(
          fmt::format("--prompt is not valid UTF-8 (byte 0x{:02X} at offset {})",
                      static_cast<unsigned char>(o->prompt[*bad]), *bad));
    }
    return run(*o);
  };
}

}  // namespace gemma::cli
