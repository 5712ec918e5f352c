// Recipe "advanced_model_generation" (huggingface-gemma-recipes): AutoProcessor + the model,
// apply_chat_template(tokenize=True, return_dict=True), generate(do_sample=True, temperature,
// top_p=0.9, max_new_tokens), then batch_decode(skip_special_tokens=True) of the new tokens.
//
//   gemma_example_detailed_generation [--model DIR_OR_HUB_ID] [--prompt TEXT] [--image PATH_OR_URL]
//       [--max-new-tokens 128] [--temperature 0.7] [--top-p 0.9] [--seed N] [--device cuda]
//       [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/hub.h>
#include <gemma/model.h>
#include <gemma/model_info.h>
#include <gemma/processor.h>

#include <iostream>

#include "common/args.h"

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto prompt = args.text("prompt", "Explain the future of artificial intelligence.");
    const auto image = args.optional_text("image");
    const auto config = examples::generation_config(
        args, {.max_new_tokens = 128, .do_sample = true, .temperature = 0.7, .top_p = 0.9});
    const auto model_options = examples::model_options(args);
    // from_pretrained accepts a hub id too; resolved once here because inspect_model (the
    // parameter count) reads a directory.
    const auto model_id = examples::model_id(args);
    args.reject_unknown();
    const auto model_dir = gemma::resolve_model(model_id);

    const auto processor = gemma::Processor::from_pretrained(model_dir);
    const auto model = gemma::Model::from_pretrained(model_dir, model_options);
    std::cout << "Loaded " << model_dir.string() << ": "
              << gemma::inspect_model(model_dir).total_parameters << " parameters\n";

    gemma::Message message = gemma::chat::user({gemma::chat::text(prompt)});
    if (image) message.content.insert(message.content.begin(), gemma::chat::image(*image));
    const auto inputs = processor.apply_chat_template(gemma::Conversation{message});
    const auto input_len = inputs.input_ids.size(-1);

    // generate() returns the new tokens only: transformers' generation[:, input_len:].
    const auto generation = model.generate(inputs, config);
    const auto decoded = processor.batch_decode(generation.tokens, /*skip_special_tokens=*/true);

    std::cout << "AI reply: " << decoded[0] << "\n";
    std::cout << "prompt tokens: " << input_len << ", new tokens: " << generation.tokens[0].size()
              << "\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
