// int8 weight-only quantisation against the bfloat16 model it was made from (bench/README.md):
// teacher-forced logits over a text prompt (max and mean |Δ|, top-1 agreement) and greedy
// continuations (tokens equal to bf16's, leading run). Prints one JSON line.
//   gemma_quant_accuracy --model DIR [--prompt-tokens 256] [--new-tokens 32] [--threads 2]
#include <ATen/Parallel.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/eq.h>
#include <ATen/ops/sub.h>
#include <gemma/error.h>
#include <gemma/model.h>
#include <gemma/processor.h>
#include <gemma/runtime.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "text_prompt.h"

namespace {

struct Side {
  at::Tensor logits;            // [T, vocab] float32
  std::vector<int64_t> tokens;  // greedy continuation
};

Side run(const std::string& dir, const std::string& dtype, const gemma::BatchEncoding& prompt,
         int64_t new_tokens) {
  const auto model = gemma::Model::from_pretrained(
      dir, {.dtype = dtype, .load_vision = false, .load_audio = false});
  Side side;
  side.logits = model.forward(prompt.input_ids, prompt.attention_mask).select(0, 0).to(at::kFloat);
  const gemma::GenerationConfig greedy{
      .max_new_tokens = new_tokens, .do_sample = false, .eos_token_ids = std::vector<int64_t>{}};
  side.tokens = model.generate(prompt, greedy).tokens.at(0);
  return side;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"int8 weights against bfloat16: logits error, top-1 agreement, greedy tokens"};
  std::string model;
  int64_t prompt_tokens = 256, new_tokens = 32;
  int threads = 0;
  app.add_option("--model", model, "Model directory")->required();
  app.add_option("--prompt-tokens", prompt_tokens, "Teacher-forced prompt length");
  app.add_option("--new-tokens", new_tokens, "Greedy tokens compared");
  app.add_option("--threads", threads, "at::set_num_threads (0: default)");
  CLI11_PARSE(app, argc, argv);
  gemma::reuse_freed_memory();
  try {
    if (threads > 0) at::set_num_threads(threads);
    const auto processor = gemma::Processor::from_pretrained(model);
    const auto prompt = gemma::bench::text_prompt(processor, prompt_tokens);
    const auto bf16 = run(model, "bfloat16", prompt, new_tokens);
    const auto int8 = run(model, "int8", prompt, new_tokens);

    const auto diff = at::sub(int8.logits, bf16.logits).abs();
    const double max_logit = bf16.logits.abs().max().item<double>();
    const double agreement =
        at::eq(int8.logits.argmax(-1), bf16.logits.argmax(-1)).to(at::kDouble).mean().item<double>();
    size_t equal = 0, leading = 0;
    for (size_t i = 0; i < bf16.tokens.size() && i < int8.tokens.size(); ++i) {
      if (bf16.tokens[i] != int8.tokens[i]) continue;
      ++equal;
      if (leading == i) ++leading;
    }
    std::cout << nlohmann::json{{"model", model},
                                {"prompt_tokens", prompt.input_ids.size(1)},
                                {"max_abs_logit_bf16", max_logit},
                                {"max_abs_diff", diff.max().item<double>()},
                                {"max_abs_diff_relative", diff.max().item<double>() / max_logit},
                                {"mean_abs_diff", diff.mean().item<double>()},
                                {"mean_abs_logit_bf16", bf16.logits.abs().mean().item<double>()},
                                {"top1_agreement", agreement},
                                {"greedy_tokens", bf16.tokens.size()},
                                {"greedy_equal", equal},
                                {"greedy_leading_equal", leading}}
                     .dump()
              << "\n";
  } catch (const gemma::Error& e) {
    std::cerr << "gemma_quant_accuracy: " << e.what() << "\n";
    return 1;
  }
}
