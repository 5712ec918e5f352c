// Recipe "real-time streaming" (huggingface-gemma-recipes, streaming_generation): the reply printed
// as it is generated, twice. First with a callback (transformers' TextStreamer), then pulled from
// an iterator while generation runs on another thread (TextIteratorStreamer, the recipe's async
// generator). Unlike the recipe, which splits a finished reply into words, the pieces are the real
// tokens as they are sampled. Both runs use the same seed, so they must produce the same text.
//
//   gemma_example_streaming [--model DIR_OR_HUB_ID] [--prompt TEXT] [--max-new-tokens 128]
//       [--seed 42] [--temperature T] [--device cuda] [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/pipeline.h>

#include <iostream>

#include "common/args.h"

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto prompt = args.text("prompt", "Explain in a few sentences how a rainbow forms.");
    const auto config = examples::generation_config(args, {.max_new_tokens = 128, .seed = 42});
    const auto options = examples::pipeline_options(args);
    const auto model = examples::model_id(args);
    args.reject_unknown();
    const auto pipe = gemma::pipeline("text-generation", model, options);
    const gemma::Conversation messages = {gemma::chat::user(prompt)};

    std::cout << "Streaming with a callback:\n";
    std::string streamed;
    int pieces = 0;
    const auto output = pipe(messages, config, [&](int64_t /*row*/, std::string_view piece) {
      std::cout << piece << std::flush;
      streamed += piece;
      ++pieces;
      return true;  // false would stop generation here
    });
    const bool callback_ok = streamed == output.text;
    std::cout << "\ncallback: " << pieces
              << " pieces, joined == reply: " << (callback_ok ? "yes" : "NO") << "\n\n";

    std::cout << "Streaming with an iterator:\n";
    std::string pulled;
    pieces = 0;
    for (const std::string& piece : pipe.stream(messages, config)) {
      std::cout << piece << std::flush;
      pulled += piece;
      ++pieces;
    }
    const bool iterator_ok = pulled == output.text;
    std::cout << "\niterator: " << pieces
              << " pieces, joined == callback reply: " << (iterator_ok ? "yes" : "NO") << "\n";
    return callback_ok && iterator_ok ? 0 : 1;
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
