// Recipe "function calling: document summariser" (huggingface-gemma-recipes,
// Gemma_3n_Function_Calling_document_summarizer): the system prompt describes a tool, the model
// answers with a JSON call {"name": ..., "arguments": {...}}, the program runs the tool and gives
// the result back as a message, and the model writes the final answer.
//
// A reply without a valid call (the bundled random-weight model never writes one) is reported and
// the tool runs on the user's file directly. --reply-file replaces the model's first reply with a
// canned one, to exercise the parsing of a real call.
//
//   gemma_example_function_calling [--model DIR_OR_HUB_ID] [--document PATH] [--reply-file PATH]
//       [--max-new-tokens 128] [--seed N] [--device cuda] [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/pipeline.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "common/args.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view kSystemPrompt = R"(You can call one tool:
  summarize_document(path: string): the word count and first sentences of a text file.
To call it, reply with a JSON object only, for example:
{"name": "summarize_document", "arguments": {"path": "notes.txt"}})";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!(in && text << in.rdbuf())) throw gemma::IoError("cannot read '" + path.string() + "'");
  return text.str();
}

// The tool. Whitespace-separated words; sentences end at '.', '!' or '?' before a space or the end.
json summarize_document(const fs::path& path, size_t max_sentences = 2) {
  std::istringstream in(read_text(path));
  std::string word, sentences;
  size_t words = 0, sentence_count = 0;
  while (in >> word) {
    ++words;
    if (sentence_count == max_sentences) continue;
    sentences += (sentences.empty() ? "" : " ") + word;
    if (word.back() == '.' || word.back() == '!' || word.back() == '?') ++sentence_count;
  }
  return {{"path", path.string()}, {"words", words}, {"first_sentences", sentences}};
}

// Model output and files need not be valid UTF-8; nlohmann's dump() would throw on it.
std::string to_text(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The first balanced {...} of `text` that parses as JSON: replies wrap the call in prose or
// ```json fences, and prose may hold braces of its own.
std::optional<json> first_json_object(std::string_view text) {
  for (size_t start = text.find('{'); start != std::string_view::npos;
       start = text.find('{', start + 1)) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = start; i < text.size(); ++i) {
      const char c = text[i];
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        auto parsed = json::parse(text.substr(start, i - start + 1), nullptr, false);
        if (!parsed.is_discarded()) return parsed;
        break;
      }
    }
  }
  return std::nullopt;
}

struct Call {
  std::optional<fs::path> path;  // set when the reply holds a valid call
  std::string problem;           // why not, otherwise
};

Call parse_call(std::string_view reply) {
  const auto object = first_json_object(reply);
  if (!object) return {{}, "no JSON object in the reply"};
  const auto name = object->value("name", json());
  if (name != "summarize_document") {
    return {{}, "its name is " + to_text(name) + ", not \"summarize_document\""};
  }
  const auto arguments = object->value("arguments", json());
  if (!arguments.is_object() || !arguments.contains("path") || !arguments["path"].is_string()) {
    return {{}, "arguments.path is missing or not a string"};
  }
  return {fs::path(arguments["path"].get<std::string>()), ""};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const fs::path document = args.text("document", "examples/data/solar_power.txt");
    const auto reply_file = args.optional_text("reply-file");
    const auto config = examples::generation_config(args, {.max_new_tokens = 128});
    const auto options = examples::pipeline_options(args);
    const auto model = examples::model_id(args);
    args.reject_unknown();
    const auto pipe = gemma::pipeline("text-generation", model, options);

    using namespace gemma::chat;
    gemma::Conversation conversation = {
        system(std::string(kSystemPrompt)),
        user("Please summarise the document " + document.string() + ".")};
    const auto reply = reply_file ? read_text(*reply_file) : pipe(conversation, config).text;
    std::cout << (reply_file ? "canned reply: " : "model reply: ") << reply << "\n";

    auto call = parse_call(reply);
    // The model only gets to read the file the user offered.
    std::error_code ec;
    if (call.path && fs::weakly_canonical(*call.path, ec) != fs::weakly_canonical(document, ec)) {
      call = {{}, "it asks for '" + call.path->string() + "', which the user did not offer"};
    }
    if (call.path) {
      std::cout << "function call: summarize_document(path=\"" << call.path->string() << "\")\n";
    } else {
      std::cout << "no valid function call (" << call.problem
                << "): running summarize_document on the user's file directly\n";
    }
    const auto result = summarize_document(call.path.value_or(document));
    std::cout << "tool result: " << to_text(result) << "\n";

    conversation.push_back(assistant(reply));
    conversation.push_back(user("Tool result: " + to_text(result) + "\nNow answer the request."));
    const auto answer = pipe(conversation, config);
    std::cout << "final answer (" << answer.tokens.size() << " tokens): " << answer.text << "\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
