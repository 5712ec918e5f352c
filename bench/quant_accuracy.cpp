// int8 weight-only quantisation against the bfloat16 model it was made from (bench/README.md):
// teacher-forced logits over a text prompt (max and mean |Δ|, top-1 agreement) and greedy
// continuations (tokens equal to the reference's, leading run). With --reference float32 both
// bfloat16 and int8 are compared with float32 weights, which shows how much of the difference
// is quantisation and how much rounding of any kind. Prints one JSON line.
//   gemma_quant_accuracy --model DIR [--reference bfloat16|float32] [--prompt-tokens 256]
//                        [--new-tokens 32] [--threads 2]
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

nlohmann::json compare(const Side& reference, const Side& side) {
  const auto diff = at::sub(side.logits, reference.logits).abs();
  const double max_logit = reference.logits.abs().max().item<double>();
  const double agreement =
      at::eq(side.logits.argmax(-1), reference.logits.argmax(-1)).to(at::kDouble).mean().item<double>();
  size_t equal = 0, leading = 0;
  for (size_t i = 0; i < reference.tokens.size() && i < side.tokens.size(); ++i) {
    if (reference.tokens[i] != side.tokens[i]) continue;
    ++equal;
    if (leading == i) ++leading;
  }
  return {{"max_abs_logit_reference", max_logit},
          {"max_abs_diff", diff.max().item<double>()},
          {"max_abs_diff_relative", diff.max().item<double>() / max_logit},
          {"mean_abs_diff", diff.mean().item<double>()},
          {"mean_abs_logit_reference", reference.logits.abs().mean().item<double>()},
          {"top1_agreement", agreement},
          {"greedy_tokens", reference.tokens.size()},
          {"greedy_equal", equal},
          {"greedy_leading_equal", leading}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"int8 weights against bfloat16: logits error, top-1 agreement, greedy tokens"};
  std::string model, reference = "bfloat16";
  int64_t prompt_tokens = 256, new_tokens = 32;
  int threads = 0;
  app.add_option("--model", model, "Model directory")->required();
  app.add_option("--reference", reference, "What int8 is compared with")
      ->check(CLI::IsMember({"bfloat16", "float32"}))
      ->capture_default_str();
  app.add_option("--prompt-tokens", prompt_tokens, "Teacher-forced prompt length");
  app.add_option("--new-tokens", new_tokens, "Greedy tokens compared");
  app.add_option("--threads", threads, "at::set_num_threads (0: default)");
  CLI11_PARSE(app, argc, argv);
  gemma::reuse_freed_memory();
  try {
    if (threads > 0) at::set_num_threads(threads);
    const auto processor = gemma::Processor::from_pretrained(model);
    const auto prompt = gemma::bench::text_prompt(processor, prompt_tokens);
    nlohmann::json report = {{"model", model},
                             {"reference", reference},
                             {"prompt_tokens", prompt.input_ids.size(1)}};
    const auto bf16 = run(model, "bfloat16", prompt, new_tokens);
    const auto int8 = run(model, "int8", prompt, new_tokens);
    if (reference == "float32") {
      const auto fp32 = run(model, "float32", prompt, new_tokens);
      report["bfloat16"] = compare(fp32, bf16);
      report["int8"] = compare(fp32, int8);
    } else {
      report["int8"] = compare(bf16, int8);
    }
    std::cout << report.dump() << "\n";
  } catch (const gemma::Error& e) {
    std::cerr << "gemma_quant_accuracy: " << e.what() << "\n";
    return 1;
  }
}
