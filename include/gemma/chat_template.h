#pragma once
/// Chat templates: turns a conversation into the prompt text exactly as transformers'
/// `processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=...)` does, with
/// the model's own Jinja template (chat_template.jinja, else chat_template.json, else
/// tokenizer_config.json's "chat_template") rendered by gemma's Jinja interpreter (docs/jinja.md).
///
/// Messages are JSON text in transformers' format, e.g.
///   [{"role": "system", "content": "Be brief."},
///    {"role": "user", "content": [{"type": "image", "path": "cat.png"},
///                                 {"type": "text", "text": "What is this?"}]}]
/// The rendered prompt starts with the BOS text when the template writes it (Gemma's does), so it
/// must be tokenized without adding another BOS.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "gemma/export.h"

namespace gemma {

/// Budgets for one rendering, so that a hostile template (string doubling in a loop, nested
/// range() loops, runaway recursion) fails with a ProcessorError in bounded time and memory instead
/// of running away; jinja2's sandbox, which transformers uses, bounds only range() (100000 items,
/// as here). The defaults are far above what real chat templates need (Gemma 3n's renders a
/// conversation in a few thousand units of work).
struct TemplateLimits {
  /// The rendered text, and any one string the template builds: 16 MiB.
  std::size_t max_output_bytes = std::size_t{16} << 20;
  /// Work units per rendering: one per statement and expression evaluated, plus one per byte of
  /// string and per item of list or dict the template makes. 2^26 (about 67 million) bounds a
  /// rendering to about 5 s of one core at worst and what it allocates to a few hundred MB, while
  /// Gemma 3n's template renders 100 turns of 1 KB each in under 2^20 (a unit test checks).
  std::uint64_t max_work = std::uint64_t{1} << 26;
  /// Nested macro calls: 100 (jinja2 hits Python's recursion limit near 200).
  int max_call_depth = 100;
};

/// A model's chat template, parsed once, with the tokenizer's special tokens (bos_token, ...) that
/// transformers passes to it. Immutable after load(); render() may be called from several threads.
class GEMMA_API ChatTemplate {
 public:
  /// Reads the template and tokenizer_config.json / special_tokens_map.json of `model_dir`
  /// (through load_model_files, so config.json must be valid too). Throws IoError or ConfigError
  /// for an unreadable or malformed file, ProcessorError if there is no chat template or it does
  /// not parse ("chat template line L, column C: ...").
  static ChatTemplate load(const std::filesystem::path& model_dir);

  /// Move-only.
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

  /// Renders `messages_json` (a JSON list of message objects). `extra_json` is an optional JSON
  /// object of further template variables (e.g. "tools", "documents"); "" means none.
  /// `source_name` names the messages in error messages (e.g. the file they came from).
  /// Throws InvalidArgumentError for malformed JSON, an empty conversation or a message that is
  /// not an object (naming `source_name` and the message index), and ProcessorError when the
  /// template rejects the conversation ("<template file> line L, column C: TemplateError: <its
  /// raise_exception message>", as transformers' TemplateError) or passes a limit.
  /// `limits` bound the rendering (see TemplateLimits).
  std::string render(std::string_view messages_json, bool add_generation_prompt = true,
                     std::string_view extra_json = {}, std::string_view source_name = "messages",
                     const TemplateLimits& limits = {}) const;

  /// The template text as the model directory stores it.
  const std::string& source() const;

 private:
  struct Impl;
  explicit ChatTemplate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// `ChatTemplate::load(model_dir).render(messages_json, add_generation_prompt)`.
GEMMA_API std::string render_chat_template(const std::filesystem::path& model_dir,
                                           std::string_view messages_json,
                                           bool add_generation_prompt = true);

}  // namespace gemma
