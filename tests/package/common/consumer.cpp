// A downstream program: uses only the installed public headers and gemma::gemma. Every public
// header is included (gemma/opencv.h aside: it needs OpenCV's own headers) so that each compiles
// from an install prefix; the pipeline runs on the model once.
#include <gemma/audio.h>
#include <gemma/batch_encoding.h>
#include <gemma/chat_template.h>
#include <gemma/config.h>
#include <gemma/error.h>
#include <gemma/export.h>
#include <gemma/generation.h>
#include <gemma/generation_config.h>
#include <gemma/hub.h>
#include <gemma/image.h>
#include <gemma/messages.h>
#include <gemma/model.h>
#include <gemma/model_info.h>
#include <gemma/pipeline.h>
#include <gemma/processor.h>
#include <gemma/text_stream.h>
#include <gemma/tokenizer.h>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer MODEL_DIR\n";
    return 2;
  }
  try {
    auto info = gemma::inspect_model(argv[1]);
    std::cout << gemma::describe(info);
    auto pipe = gemma::pipeline("text-generation", argv[1]);
    gemma::GenerationConfig config;
    config.max_new_tokens = 4;
    const auto out = pipe({gemma::chat::user("Hello!")}, config);
    std::cout << "reply of " << out.tokens.size() << " tokens\n";
    return info.total_parameters > 0 && !out.tokens.empty() ? 0 : 1;
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
