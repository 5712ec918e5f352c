// Recipe "image analysis" (huggingface-gemma-recipes, image_analysis): a question about each image,
// then, with several images, all of them in one user turn for a question that needs them together.
//
//   gemma_example_image_analysis [--model DIR_OR_HUB_ID] [--image PATH_OR_URL]...
//       [--question TEXT] [--compare-question TEXT] [--max-new-tokens 256] [--seed N]
//       [--device cuda] [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/pipeline.h>

#include <iostream>

#include "common/args.h"

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto images = args.texts("image", {"tests/data/images/rgb_landscape_256x160.png",
                                             "tests/data/images/gray_portrait_100x140.png"});
    const auto question = args.text("question", "Describe this image.");
    const auto compare_question =
        args.text("compare-question", "How do these images differ? Answer image by image.");
    const auto config = examples::generation_config(args, {.max_new_tokens = 256});
    const auto options = examples::pipeline_options(args);
    const auto model = examples::model_id(args);
    args.reject_unknown();
    const auto pipe = gemma::pipeline("image-text-to-text", model, options);

    using namespace gemma::chat;
    for (size_t i = 0; i < images.size(); ++i) {
      const auto output = pipe({user({image(images[i]), text(question)})}, config);
      std::cout << "image " << i + 1 << " (" << images[i] << "): " << output.stats.prompt_tokens
                << " prompt tokens, " << output.tokens.size() << " new tokens\n"
                << output.text << "\n\n";
    }
    if (images.size() < 2) return 0;

    std::vector<gemma::ContentPart> parts;
    for (const auto& source : images) parts.push_back(image(source));
    parts.push_back(text(compare_question));
    const auto output = pipe({user(std::move(parts))}, config);
    std::cout << images.size() << " images in one turn: " << output.stats.prompt_tokens
              << " prompt tokens, " << output.tokens.size() << " new tokens\n"
              << output.text << "\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
