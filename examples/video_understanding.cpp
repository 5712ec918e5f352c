// Recipe "video processing" (huggingface-gemma-recipes, video as sampled frames): a video is
// sampled into frames (--fps per second of video, at most --max-frames, as transformers'
// default_sample_indices_fn) which reach the model as images, followed by the question.
//
//   gemma_example_video_understanding --video PATH_OR_URL [--model DIR_OR_HUB_ID] [--fps 1]
//       [--max-frames 32] [--prompt TEXT] [--max-new-tokens 128] [--seed N] [--device cuda]
//       [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/model.h>
#include <gemma/processor.h>

#include <iostream>

#include "common/args.h"

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto video = args.optional_text("video");
    if (!video) throw gemma::InvalidArgumentError("--video PATH_OR_URL is required");
    const auto prompt = args.text("prompt", "What happens in this video?");
    gemma::ChatTemplateOptions chat;
    chat.video.fps = args.number("fps", chat.video.fps);
    chat.video.max_frames = args.integer("max-frames", chat.video.max_frames);
    const auto config = examples::generation_config(args, {.max_new_tokens = 128});
    const auto model_options = examples::model_options(args);
    const auto model_id = examples::model_id(args);
    args.reject_unknown();

    const auto processor = gemma::Processor::from_pretrained(model_id);
    const auto model = gemma::Model::from_pretrained(model_id, model_options);

    using namespace gemma::chat;
    const gemma::Conversation messages = {user({gemma::chat::video(*video), text(prompt)})};
    const auto inputs = processor.apply_chat_template(messages, chat);
    // Every sampled frame is one image of pixel_values.
    std::cout << "sampled " << inputs.pixel_values.size(0) << " frames (fps " << chat.video.fps
              << ", max_frames " << chat.video.max_frames << "), prompt of "
              << inputs.input_ids.size(1) << " tokens\n";

    const auto generation = model.generate(inputs, config);
    const auto reply = processor.batch_decode(generation.tokens, /*skip_special_tokens=*/true);
    std::cout << "Model reply: " << reply[0] << "\n"
              << generation.tokens[0].size() << " new tokens\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
