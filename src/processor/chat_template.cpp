#include "processor/chat_template.h"

#include <fmt/format.h>

#include <utility>

#include "gemma/chat_template.h"
#include "gemma/error.h"
#include "io/special_tokens.h"
#include "util/json.h"

namespace gemma {
namespace {

using Json = nlohmann::ordered_json;

// Names under which transformers passes a message's reasoning; the first is what templates read.
constexpr std::string_view kReasoningFields[] = {"reasoning_content", "thinking", "reasoning"};

// The processor's rewrite of OpenAI-style {"type": "image_url", "image_url": {"url": ...}} parts.
Json normalize_content(const Json& content) {
  if (!content.is_array()) return content;
  Json parts = Json::array();
  for (const auto& part : content) {
    if (part.is_object() && part.value("type", Json()) == "image_url" &&
        part.contains("image_url")) {
      const Json& info = part["image_url"];
      const Json url = info.is_object() ? info.value("url", Json("")) : info;
      parts.push_back(Json{{"type", "image"}, {"url", url}});
    } else {
      parts.push_back(part);
    }
  }
  return parts;
}

// render_jinja_template's _alias_reasoning_fields: {"thinking": r, **message, "reasoning_content":
// r}.
Json alias_reasoning(const Json& message) {
  const Json* reasoning = nullptr;
  for (std::string_view field : kReasoningFields) {
    const auto it = message.find(field);
    if (it != message.end()) {
      reasoning = &*it;
      break;
    }
  }
  if (!reasoning) return message;
  Json out = Json::object();
  out["thinking"] = *reasoning;
  for (const auto& [key, value] : message.items()) out[key] = value;
  out["reasoning_content"] = *reasoning;
  return out;
}

void add_token(Json& context, std::string_view name, const std::string& token) {
  if (!token.empty()) context[std::string(name)] = token;
}

}  // namespace

Json normalize_messages(const Json& messages, std::string_view source) {
  if (!messages.is_array()) {
    throw InvalidArgumentError(
        fmt::format("{}: expected a JSON list of messages, got {}", source, messages.type_name()));
  }
  if (messages.empty()) {
    throw InvalidArgumentError(fmt::format(
        "{}: Cannot apply chat template to an empty conversation. Provide at least one message.",
        source));
  }
  Json out = Json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& message = messages[i];
    if (!message.is_object()) {
      throw InvalidArgumentError(fmt::format("{}[{}]: a message must be a JSON object, got {}",
                                             source, i, message.type_name()));
    }
    Json kept = Json::object();
    for (const auto& [key, value] : message.items()) {
      if (value.is_null()) continue;
      kept[key] = key == "content" ? normalize_content(value) : value;
    }
    out.push_back(alias_reasoning(kept));
  }
  return out;
}

std::string apply_chat_template(const jinja::Template& tmpl, const Json& messages,
                                const TokenizerConfig& tokens, const RenderOptions& options) {
  // tokenizer.special_tokens_map: the named special tokens that are set.
  Json context = Json::object();
  for (const auto& field : io::kSpecialTokenFields) {
    add_token(context, field.name, tokens.*field.member);
  }
  context["tools"] = nullptr;
  context["documents"] = nullptr;
  if (!options.extra.is_null()) {
    if (!options.extra.is_object()) {
      throw InvalidArgumentError("chat template variables must be a JSON object");
    }
    for (const auto& [key, value] : options.extra.items()) {
      if (key == "messages" || key == "add_generation_prompt") {
        throw InvalidArgumentError(
            fmt::format("chat template variable '{}' is set by the renderer itself", key));
      }
      context[key] = value;
    }
  }
  context["messages"] = normalize_messages(messages, options.messages_name);
  context["add_generation_prompt"] = options.add_generation_prompt;
  try {
    return tmpl.render(context, options.limits);
  } catch (const InvalidArgumentError& e) {
    throw InvalidArgumentError(fmt::format("{}: {}", options.messages_name, e.message()));
  }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

struct ChatTemplate::Impl {
  std::string source;
  jinja::Template tmpl;
  TokenizerConfig tokens;
};

ChatTemplate::ChatTemplate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

ChatTemplate ChatTemplate::load(const std::filesystem::path& model_dir) {
  ModelFiles files = load_model_files(model_dir);
  if (files.chat_template.empty()) {
    throw ProcessorError(fmt::format(
        "{}: no chat template (chat_template.jinja, chat_template.json or tokenizer_config.json's "
        "chat_template)",
        model_dir.string()));
  }
  jinja::Template tmpl = jinja::Template::parse(files.chat_template, files.chat_template_file);
  return ChatTemplate(std::make_unique<Impl>(
      Impl{std::move(files.chat_template), std::move(tmpl), std::move(files.tokenizer)}));
}

std::string ChatTemplate::render(std::string_view messages_json, bool add_generation_prompt,
                                 std::string_view extra_json, std::string_view source_name,
                                 const TemplateLimits& limits) const {
  const auto parse = [](std::string_view text, std::string_view what) {
    return util::parse_json<InvalidArgumentError, Json>(text, what);
  };
  const Json messages = parse(messages_json, source_name);
  RenderOptions options;
  options.add_generation_prompt = add_generation_prompt;
  options.messages_name = source_name;
  options.limits = limits;
  if (!extra_json.empty()) options.extra = parse(extra_json, "chat template variables");
  return apply_chat_template(impl_->tmpl, messages, impl_->tokens, options);
}

const std::string& ChatTemplate::source() const { return impl_->source; }

std::string render_chat_template(const std::filesystem::path& model_dir,
                                 std::string_view messages_json, bool add_generation_prompt) {
  return ChatTemplate::load(model_dir).render(messages_json, add_generation_prompt);
}

}  // namespace gemma
