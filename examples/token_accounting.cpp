// Recipe "cost optimisation" (huggingface-gemma-recipes, cost_optimized_inference and CostTracker):
// input and output tokens of every request, priced per 1K tokens, with a budget mode that asks for
// shorter, cooler replies (max_new_tokens 64 and temperature 0.3 instead of 128 and 0.7).
//
//   gemma_example_token_accounting [--model DIR_OR_HUB_ID] [--prompt TEXT]... [--budget]
//       [--input-price-per-1k 0.001] [--output-price-per-1k 0.001] [--seed N] [--device cuda]
//       [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/pipeline.h>

#include <cstdio>
#include <iostream>

#include "common/args.h"

namespace {

class CostTracker {
 public:
  CostTracker(double input_price_per_1k, double output_price_per_1k)
      : input_price_(input_price_per_1k), output_price_(output_price_per_1k) {}

  /// Records one request and returns its cost.
  double track_request(int64_t input_tokens, int64_t output_tokens) {
    input_tokens_ += input_tokens;
    output_tokens_ += output_tokens;
    ++requests_;
    return cost(input_tokens, output_tokens);
  }
  double total_cost() const { return cost(input_tokens_, output_tokens_); }
  int64_t requests() const { return requests_; }
  int64_t input_tokens() const { return input_tokens_; }
  int64_t output_tokens() const { return output_tokens_; }

 private:
  double cost(int64_t input_tokens, int64_t output_tokens) const {
    return (input_tokens * input_price_ + output_tokens * output_price_) / 1000.0;
  }

  double input_price_, output_price_;
  int64_t input_tokens_ = 0, output_tokens_ = 0, requests_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto prompts =
        args.texts("prompt", {"What is the capital of France?", "Explain what a hash table is.",
                              "Write a haiku about autumn."});
    const bool budget = args.flag("budget");
    const double input_price = args.number("input-price-per-1k", 0.001);
    const double output_price = args.number("output-price-per-1k", 0.001);
    if (input_price < 0 || output_price < 0) {
      throw gemma::InvalidArgumentError("prices per 1K tokens must not be negative");
    }
    gemma::GenerationConfig recipe{.max_new_tokens = 128, .do_sample = true, .temperature = 0.7};
    if (budget) {
      recipe.max_new_tokens = 64;
      recipe.temperature = 0.3;
    }
    const auto config = examples::generation_config(args, recipe);
    const auto options = examples::pipeline_options(args);
    const auto model = examples::model_id(args);
    args.reject_unknown();
    const auto pipe = gemma::pipeline("text-generation", model, options);

    std::printf("%s mode: max_new_tokens %lld, temperature %.1f\n", budget ? "budget" : "normal",
                static_cast<long long>(*config.max_new_tokens), *config.temperature);
    CostTracker tracker(input_price, output_price);
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto output = pipe({gemma::chat::user(prompts[i])}, config);
      const auto input_tokens = output.stats.prompt_tokens;
      const auto output_tokens = static_cast<int64_t>(output.tokens.size());
      const double cost = tracker.track_request(input_tokens, output_tokens);
      std::printf("request %zu: %lld input + %lld output tokens, cost $%.6f\n", i + 1,
                  static_cast<long long>(input_tokens), static_cast<long long>(output_tokens),
                  cost);
    }
    std::printf("total: %lld requests, %lld input + %lld output tokens, cost $%.6f\n",
                static_cast<long long>(tracker.requests()),
                static_cast<long long>(tracker.input_tokens()),
                static_cast<long long>(tracker.output_tokens()), tracker.total_cost());
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
