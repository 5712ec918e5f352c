// Recipe "quick start: pipeline inference" (huggingface-gemma-recipes): describe an image with
// pipeline("image-text-to-text") and print output[0]["generated_text"][-1]["content"].
//
//   gemma_example_pipeline_image [--model DIR_OR_HUB_ID] [--image PATH_OR_URL] [--prompt TEXT]
//                                [--max-new-tokens 128] [--device cuda] [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/pipeline.h>

#include <iostream>

#include "common/args.h"

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto image_source = args.text("image", "tests/data/images/rgb_landscape_256x160.png");
    const auto prompt = args.text("prompt", "Describe this image in detail.");
    const auto config = examples::generation_config(args, {.max_new_tokens = 128});
    const auto options = examples::pipeline_options(args);
    const auto model = examples::model_id(args);
    args.reject_unknown();
    const auto pipe = gemma::pipeline("image-text-to-text", model, options);

    using namespace gemma::chat;
    const gemma::Conversation messages = {user({image(image_source), text(prompt)})};
    const auto output = pipe(messages, config);

    // generated_text is the conversation with the reply appended, as in transformers.
    const auto& reply = output.generated_text.back();
    std::cout << "Model reply:\n" << reply.content.front().text << "\n\n";
    std::cout << "generated_text: " << output.generated_text.size() << " messages, last role "
              << reply.role << "; reply " << output.tokens.size() << " tokens\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
