// Recipe "batch processing" (huggingface-gemma-recipes, batch_inference(pipe, message_list,
// batch_size=4)): a list of conversations through the pipeline. Where the recipe calls the
// pipeline once per conversation, gemma generates each batch of batch_size conversations together
// (left-padded, one forward per step), so the results of one batch share one GenerationStats.
//
//   gemma_example_batch_inference [--model DIR_OR_HUB_ID] [--query TEXT]... [--batch-size 4]
//       [--max-new-tokens 64] [--seed N] [--device cuda] [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/pipeline.h>

#include <iostream>

#include "common/args.h"

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto queries =
        args.texts("query", {"What is the capital of France?", "What is machine learning?"});
    auto options = examples::pipeline_options(args);
    options.batch_size = args.integer("batch-size", 4);
    if (options.batch_size < 1) {
      throw gemma::InvalidArgumentError("--batch-size must be at least 1");
    }
    const auto config = examples::generation_config(args, {.max_new_tokens = 64});
    const auto model = examples::model_id(args);
    args.reject_unknown();
    const auto pipe = gemma::pipeline("text-generation", model, options);

    std::vector<gemma::Conversation> message_list;
    for (const auto& query : queries) {
      message_list.push_back({gemma::chat::user({gemma::chat::text(query)})});
    }
    const auto results = pipe(message_list, config);

    const auto batch_size = static_cast<size_t>(options.batch_size);
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      if (i % batch_size == 0) {
        std::cout << "batch " << i / batch_size + 1 << ": " << r.stats.prompt_tokens
                  << " prompt tokens, " << r.stats.new_tokens << " new tokens\n";
      }
      std::cout << "query " << i + 1 << " result (" << r.tokens.size() << " tokens): " << r.text
                << "\n";
    }
    std::cout << results.size() << " results for " << queries.size() << " queries\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
