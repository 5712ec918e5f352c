#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "gemma/chat_template.h"
#include "gemma/error.h"
#include "gemma/messages.h"

namespace gemma::cli {
namespace {

struct TemplateOptions {
  std::string model;
  std::string messages;
  bool no_generation_prompt = false;
};

}  // namespace

Action add_template_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("template",
                         "Print the prompt a model's chat template makes of a conversation, "
                         "as transformers' apply_chat_template(tokenize=False) does");
  auto options = std::make_shared<TemplateOptions>();
  cmd->add_option("--model", options->model,
                  "Model directory (chat_template.jinja or tokenizer_config.json + configs)")
      ->required();
  cmd->add_option("--messages", options->messages,
                  "JSON file holding a list of messages in transformers' format")
      ->required();
  cmd->add_flag("--no-generation-prompt", options->no_generation_prompt,
                "Do not open the model's turn at the end (add_generation_prompt=False)");
  return [cmd, options]() -> int {
    if (!*cmd) return -1;
    const ChatTemplate chat_template = ChatTemplate::load(options->model);
    const std::string prompt =
        chat_template.render(read_messages_file(options->messages), !options->no_generation_prompt,
                             {}, options->messages);
    // The prompt exactly: no newline of our own.
    std::cout.write(prompt.data(), static_cast<std::streamsize>(prompt.size()));
    std::cout.flush();
    return 0;
  };
}

}  // namespace gemma::cli
