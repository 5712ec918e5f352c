// Recipe "audio transcription" (huggingface-gemma-recipes, audio_transcription): the transcription
// prompt followed by the audio clip. Audio longer than the feature extractor's 30 s window is split
// into consecutive clips (--long-audio truncate / error choose otherwise); the processor says so in
// its notices, printed here.
//
//   gemma_example_audio_transcription [--model DIR_OR_HUB_ID] [--audio PATH_OR_URL]
//       [--language English] [--long-audio split|truncate|error] [--max-new-tokens 128]
//       [--seed N] [--device cuda] [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/pipeline.h>

#include <iostream>

#include "common/args.h"

namespace {

gemma::LongAudio long_audio_policy(const std::string& name) {
  if (name == "split") return gemma::LongAudio::kSplit;
  if (name == "truncate") return gemma::LongAudio::kTruncate;
  if (name == "error") return gemma::LongAudio::kError;
  throw gemma::InvalidArgumentError("--long-audio: '" + name + "' is not split, truncate or error");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto audio_source = args.text("audio", "tests/data/audio/speech_espeak_22k.wav");
    const auto language = args.text("language", "English");
    auto options = examples::pipeline_options(args);
    options.chat.long_audio = long_audio_policy(args.text("long-audio", "split"));
    const auto config = examples::generation_config(args, {.max_new_tokens = 128});
    const auto model = examples::model_id(args);
    args.reject_unknown();
    const auto pipe = gemma::pipeline("image-text-to-text", model, options);

    using namespace gemma::chat;
    const gemma::Conversation messages = {user(
        {text("Transcribe the following speech into " + language + ":"), audio(audio_source)})};
    const auto output = pipe(messages, config);

    for (const auto& notice : output.notices) std::cout << "notice: " << notice << "\n";
    std::cout << "Transcription: " << output.text << "\n";
    std::cout << output.stats.prompt_tokens << " prompt tokens, " << output.tokens.size()
              << " new tokens\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
