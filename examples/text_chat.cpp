// Recipe "text-only chat" (huggingface-gemma-recipes, text_only_chat): questions to the model with
// no image or audio, here as one multi-turn conversation: each reply goes back in as the assistant
// message before the next question. pipeline("text-generation") leaves the vision and audio
// towers unloaded.
//
//   gemma_example_text_chat [--model DIR_OR_HUB_ID] [--question TEXT]... [--max-new-tokens 128]
//                           [--temperature T] [--seed N] [--device cuda] [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/pipeline.h>

#include <iostream>

#include "common/args.h"

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto questions =
        args.texts("question", {"What is the difference between a list and a tuple in Python?",
                                "Show a short example of each."});
    const auto config = examples::generation_config(args, {.max_new_tokens = 128});
    const auto options = examples::pipeline_options(args);
    const auto model = examples::model_id(args);
    args.reject_unknown();
    const auto pipe = gemma::pipeline("text-generation", model, options);

    gemma::Conversation conversation;
    for (size_t turn = 0; turn < questions.size(); ++turn) {
      conversation.push_back(gemma::chat::user(questions[turn]));
      auto output = pipe(conversation, config);
      // generated_text already ends with the assistant reply: the next turn builds on it.
      conversation = std::move(output.generated_text);
      std::cout << "Q: " << questions[turn] << "\nA: " << output.text << "\n";
      std::cout << "turn " << turn + 1 << ": " << output.stats.prompt_tokens << " prompt tokens, "
                << output.tokens.size() << " new tokens, " << conversation.size()
                << " messages\n\n";
    }
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
