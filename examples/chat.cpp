// Chat with a model from C++: chat template, tokenizer, streaming generation.
//   gemma_example_chat [MODEL_DIR]
#include <ATen/ops/ones_like.h>
#include <ATen/ops/tensor.h>
#include <gemma/chat_template.h>
#include <gemma/error.h>
#include <gemma/model.h>
#include <gemma/tokenizer.h>

#include <iostream>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "models/tiny-gemma3n";
  try {
    auto tokenizer = gemma::Tokenizer::from_pretrained(dir);
    auto messages = R"([{"role": "user", "content": "Write a haiku about the sea."}])";
    auto prompt = gemma::render_chat_template(dir, messages, /*add_generation_prompt=*/true);
    auto ids = at::tensor(tokenizer.encode(prompt), at::kLong).unsqueeze(0);
    auto model = gemma::Model::from_pretrained(dir, {.device = "cpu", .dtype = "float32"});
    auto result = model.generate(ids, at::ones_like(ids), {.max_new_tokens = 32, .seed = 1},
                                 tokenizer, [](int64_t /*row*/, std::string_view text) {
                                   std::cout << text << std::flush;
                                   return true;  // false ends this sequence
                                 });
    std::cout << "\n"
              << result.stats.new_tokens << " tokens, " << result.stats.decode_tokens_per_second()
              << " tokens/s\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
