#include "gemma/model.h"

#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include "gemma/error.h"
#include "gemma/tokenizer.h"
#include "generation/generate.h"
#include "model/model_impl.h"
#include "train/lora.h"
#include "util/torch_errors.h"

namespace gemma {
namespace {

// "int8": int8 weight-only quantisation of the text decoder with bfloat16 activations.
at::ScalarType parse_dtype(const std::string& dtype) {
  if (dtype == "float32" || dtype == "fp32") return at::kFloat;
  if (dtype == "bfloat16" || dtype == "bf16" || dtype == "int8") return at::kBFloat16;
  throw InvalidArgumentError(
      fmt::format("dtype '{}' is not supported; use float32, bfloat16 or int8", dtype));
}

at::Device parse_device(const std::string& device) {
  if (device != "cpu" && device != "cuda" && !device.starts_with("cuda:")) {
    throw InvalidArgumentError(
        fmt::format("device '{}' is not supported; use cpu, cuda or cuda:N", device));
  }
  at::Device parsed = at::kCPU;
  try {
    parsed = at::Device(device);
  } catch (const c10::Error&) {
    throw InvalidArgumentError(fmt::format("device '{}' is malformed", device));
  }
  if (parsed.is_cuda() && !at::hasCUDA()) {
    throw UnsupportedError(
        fmt::format("device '{}' requested but no CUDA device is available", device));
  }
  return parsed;
}

// Stop strings are checked on the text of each row's new tokens, decoded after every token.
TokenCallback with_stop_strings(const TokenCallback& inner, const std::vector<std::string>& stops,
                                const Tokenizer& tokenizer, int64_t rows) {
  auto produced = std::make_shared<std::vector<std::vector<int64_t>>>(rows);
  return [=, &tokenizer](const TokenEvent& e) {
    bool go_on = inner ? inner(e) : true;
    auto& ids = (*produced)[e.row];
    ids.push_back(e.token);
    const auto text = tokenizer.decode(ids, /*skip_special_tokens=*/false);
    for (const auto& stop : stops) {
      if (text.find(stop) != std::string::npos) go_on = false;
    }
    return go_on;
  };
}

}  // namespace

model::MultimodalInputs model::media_inputs(const BatchEncoding& in, const at::Device& device) {
  auto to = [&](const at::Tensor& t) { return t.defined() ? t.to(device) : t; };
  return {to(in.pixel_values), to(in.input_features), to(in.input_features_mask)};
}

Model::Model(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Model Model::from_pretrained(const std::filesystem::path& model, const ModelOptions& options) {
  const auto model_dir = resolve_model(model.string(), options.hub);
  auto impl = std::make_shared<Impl>();
  impl->dtype = parse_dtype(options.dtype);
  impl->device = parse_device(options.device);
  impl->generation = load_generation_defaults(model_dir);
  impl->loaded =
      model::load_model(model_dir, at::TensorOptions().dtype(impl->dtype).device(impl->device),
                        {options.load_vision, options.load_audio});
  if (!options.adapter.empty()) {
    util::with_torch_errors(fmt::format("loading the adapter {}", options.adapter.string()), [&] {
      train::load_adapter(*impl->loaded.model, {options.load_vision, options.load_audio},
                          options.adapter);
      train::merge_lora(*impl->loaded.model);
    });
  }
  if (options.dtype == "int8") {
    util::with_torch_errors("quantising the weights to int8",
                            [&] { impl->loaded.model->quantize_int8(impl->dtype); });
  }
  return Model(std::move(impl));
}

const ModelConfig& Model::config() const { return impl_->loaded.config; }
const GenerationDefaults& Model::generation_defaults() const { return impl_->generation; }
at::Device Model::device() const { return impl_->device; }
at::ScalarType Model::dtype() const { return impl_->dtype; }

at::Tensor Model::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask) const {
  BatchEncoding inputs;
  inputs.input_ids = input_ids;
  inputs.attention_mask = attention_mask;
  return forward(inputs);
}

at::Tensor Model::forward(const BatchEncoding& inputs) const {
  return util::with_torch_errors("Model::forward", [&] {
    const auto& d = impl_->device;
    const auto& mask = inputs.attention_mask;
    model::ForwardInputs in;
    in.input_ids = inputs.input_ids.to(d);
    in.attention_mask = mask.defined() ? mask.to(d) : mask;
    in.media = model::media_inputs(inputs, d);
    return impl_->loaded.model->forward(in).logits;
  });
}

GenerateResult Model::generate(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                               const GenerationConfig& config, const TokenCallback& on_token,
                               const Tokenizer* tokenizer) const {
  BatchEncoding inputs;
  inputs.input_ids = input_ids;
  inputs.attention_mask = attention_mask;
  return generate_tokens(inputs, config, on_token, tokenizer);
}

GenerateResult Model::generate(const BatchEncoding& inputs, const GenerationConfig& config,
                               const TokenCallback& on_token, const Tokenizer* tokenizer) const {
  return generate_tokens(inputs, config, on_token, tokenizer);
}

GenerateResult Model::generate_tokens(const BatchEncoding& inputs, const GenerationConfig& config,
                                      const TokenCallback& on_token,
                                      const Tokenizer* tokenizer) const {
  const auto& input_ids = inputs.input_ids;
  auto resolved = resolve_generation(config, impl_->generation, input_ids.size(1));
  if (!resolved.stop_strings.empty() && !tokenizer) {
    throw InvalidArgumentError("stop_strings need a tokenizer to be passed to generate()");
  }
  auto callback = resolved.stop_strings.empty() ? on_token
                                                : with_stop_strings(on_token, resolved.stop_strings,
                                                                    *tokenizer, input_ids.size(0));
  return util::with_torch_errors("generate", [&] {
    const auto& d = impl_->device;
    const auto& mask = inputs.attention_mask;
    return generation::generate(impl_->loaded.model, input_ids.to(d),
                                mask.defined() ? mask.to(d) : mask, resolved, callback,
                                model::media_inputs(inputs, d));
  });
}

GenerateResult Model::generate(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                               const GenerationConfig& config, const Tokenizer& tokenizer,
                               const TextCallback& on_text) const {
  BatchEncoding inputs;
  inputs.input_ids = input_ids;
  inputs.attention_mask = attention_mask;
  return generate(inputs, config, tokenizer, on_text);
}

GenerateResult Model::generate(const BatchEncoding& inputs, const GenerationConfig& config,
                               const Tokenizer& tokenizer, const TextCallback& on_text) const {
  std::vector<Tokenizer::StreamDecoder> streams;
  for (int64_t row = 0; row < inputs.input_ids.size(0); ++row) {
    streams.push_back(tokenizer.stream_decoder(/*skip_special_tokens=*/true));
  }
  TokenCallback on_token = [&](const TokenEvent& e) {
    auto text = streams[e.row].push(e.token);
    return text.empty() || on_text(e.row, text);
  };
  auto result = generate_tokens(inputs, config, on_token, &tokenizer);
  // Bytes held back at the end of a row (an unfinished UTF-8 sequence) come out as decode() shows
  // them.
  for (size_t row = 0; row < streams.size(); ++row) {
    if (auto rest = streams[row].flush(); !rest.empty()) on_text(row, rest);
  }
  return result;
}

}  // namespace gemma
