#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "gemma/tokenizer.h"

namespace gemma::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  bool no_special_tokens = false;
};

}  // namespace

Action add_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize",
                                 "Print the token ids of a text, as transformers' "
                                 "tokenizer(text) gives them");
  auto options = std::make_shared<TokenizeOptions>();
  cmd->add_option("--model", options->model, "Model directory (tokenizer.model + configs)")
      ->required();
  cmd->add_option("--text", options->text, "Text to tokenize (UTF-8)")->required();
  cmd->add_flag("--no-special-tokens", options->no_special_tokens,
                "Do not add BOS/EOS (add_special_tokens=False)");
  return [cmd, options]() -> int {
    if (!*cmd) return -1;
    const Tokenizer tokenizer = Tokenizer::from_pretrained(options->model);
    const std::vector<int64_t> ids = tokenizer.encode(options->text, !options->no_special_tokens);
    std::string line;
    for (const int64_t id : ids) {
      if (!line.empty()) line += ' ';
      line += std::to_string(id);
    }
    std::cout << line << "\n";
    return 0;
  };
}

}  // namespace gemma::cli
