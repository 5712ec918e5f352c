#include "gemma/messages.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gemma/error.h"
#include "processor/tokenizer_unicode.h"
#include "util/files.h"
#include "util/json.h"

namespace gemma {

namespace chat {

ContentPart text(std::string text) {
  ContentPart part;
  part.text = std::move(text);
  return part;
}

namespace {
ContentPart media(ContentPart::Type type, std::string source) {
  ContentPart part;
  part.type = type;
  part.source = std::move(source);
  return part;
}
}  // namespace

ContentPart image(std::string source) {
  return media(ContentPart::Type::kImage, std::move(source));
}
ContentPart audio(std::string source) {
  return media(ContentPart::Type::kAudio, std::move(source));
}
ContentPart video(std::string source) {
  return media(ContentPart::Type::kVideo, std::move(source));
}

ContentPart image(Image decoded) {
  ContentPart part;
  part.type = ContentPart::Type::kImage;
  part.image = std::make_shared<const Image>(std::move(decoded));
  return part;
}

ContentPart audio(Audio decoded) {
  ContentPart part;
  part.type = ContentPart::Type::kAudio;
  part.audio = std::make_shared<const Audio>(std::move(decoded));
  return part;
}

namespace {
Message string_message(std::string role, std::string content) {
  return Message{std::move(role), {text(std::move(content))}, true};
}
}  // namespace

Message system(std::string text) { return string_message("system", std::move(text)); }
Message system(const char* text) { return string_message("system", text); }
Message user(std::string text) { return string_message("user", std::move(text)); }
Message assistant(std::string text) { return string_message("assistant", std::move(text)); }
Message user(std::vector<ContentPart> parts) { return Message{"user", std::move(parts), false}; }

}  // namespace chat

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, std::string_view problem) {
  throw InvalidArgumentError(fmt::format("{}: {}", where, problem));
}

std::string string_field(const json& object, const char* key, const std::string& where) {
  const auto& value = object.at(key);
  if (!value.is_string()) fail(fmt::format("{}.{}", where, key), "must be a string");
  return value.get<std::string>();
}

// The first of `keys` present, as transformers picks a media part's input.
std::string media_source(const json& part, std::initializer_list<const char*> keys,
                         const std::string& where, std::string_view kind) {
  for (const char* key : keys) {
    if (!part.contains(key)) continue;
    std::string value = string_field(part, key, where);
    if (value.empty()) fail(fmt::format("{}.{}", where, key), "is empty");
    // transformers' load_image takes raw base64 as well as data: URIs.
    if (std::string_view(key) == "base64" && !value.starts_with("data:"))
      value = "data:image;base64," + value;
    return value;
  }
  std::string names;
  for (const char* key : keys) names += names.empty() ? key : fmt::format(", {}", key);
  fail(where, fmt::format("an {} part needs one of {}", kind, names));
}

std::optional<ContentPart> parse_part(const json& part, const std::string& where) {
  if (!part.is_object()) fail(where, "a content part must be an object");
  if (!part.contains("type")) fail(where, "a content part needs a \"type\"");
  const std::string type = string_field(part, "type", where);
  if (type == "text") {
    if (!part.contains("text")) fail(where, "a text part needs \"text\"");
    return chat::text(string_field(part, "text", where));
  }
  if (type == "image")
    return chat::image(media_source(part, {"image", "url", "path", "base64"}, where, "image"));
  if (type == "image_url") {  // OpenAI's {"type": "image_url", "image_url": {"url": ...}}
    const auto& info = part.contains("image_url") ? part.at("image_url") : json();
    if (info.is_string() || (info.is_object() && info.contains("url"))) {
      const bool nested = info.is_object();
      std::string url =
          nested ? string_field(info, "url", where + ".image_url") : info.get<std::string>();
      // As media_source: an image part without a source could not be loaded, nor written back.
      if (url.empty()) fail(where + (nested ? ".image_url.url" : ".image_url"), "is empty");
      return chat::image(std::move(url));
    }
    fail(where, "an image_url part needs \"image_url\": {\"url\": ...}");
  }
  if (type == "audio")
    return chat::audio(media_source(part, {"audio", "url", "path"}, where, "audio"));
  if (type == "video")
    return chat::video(media_source(part, {"video", "url", "path"}, where, "video"));
  return std::nullopt;  // Gemma's template ignores other part types, and so do we.
}

Message parse_message(const json& message, const std::string& where) {
  if (!message.is_object())
    fail(where, "a message must be an object with \"role\" and \"content\"");
  if (!message.contains("role")) fail(where, "a message needs a \"role\"");
  Message out;
  out.role = string_field(message, "role", where);
  const json content = message.contains("content") ? message.at("content") : json();
  if (content.is_string()) {
    out.content.push_back(chat::text(content.get<std::string>()));
    out.content_is_string = true;
  } else if (content.is_array()) {
    for (size_t i = 0; i < content.size(); ++i) {
      if (auto part = parse_part(content[i], fmt::format("{}.content[{}]", where, i)))
        out.content.push_back(std::move(*part));
    }
  } else if (!content.is_null()) {
    fail(where + ".content", "must be a string, a list of parts or null");
  }
  return out;
}

json parse_json(std::string_view text, std::string_view source_name) {
  return util::parse_json<InvalidArgumentError>(text, source_name);
}

Conversation parse_list(const json& list, const std::string& where) {
  if (!list.is_array()) fail(where, "a conversation must be a JSON list of messages");
  if (list.empty()) fail(where, "the conversation is empty");
  Conversation conversation;
  for (size_t i = 0; i < list.size(); ++i)
    conversation.push_back(parse_message(list[i], fmt::format("{}[{}]", where, i)));
  return conversation;
}

// Messages built in C++ can hold any bytes; the template and the tokenizer need UTF-8 (Python's
// str cannot even hold the rest).
const std::string& utf8(const std::string& text, const std::string& where) {
  if (const auto bad = detail::find_invalid_utf8(text)) {
    fail(where, fmt::format("not valid UTF-8 (byte 0x{:02X} at offset {})",
                            static_cast<unsigned char>(text[*bad]), *bad));
  }
  return text;
}

json part_json(const ContentPart& part, const std::string& where) {
  static constexpr const char* kTypes[] = {"text", "image", "audio", "video"};
  json out = {{"type", kTypes[static_cast<int>(part.type)]}};
  if (part.type == ContentPart::Type::kText) {
    out["text"] = utf8(part.text, where + ".text");
  } else if (!part.source.empty()) {
    const bool url =
        part.source.find("://") != std::string::npos || part.source.starts_with("data:");
    out[url ? "url" : "path"] = utf8(part.source, where + (url ? ".url" : ".path"));
  }
  return out;
}

}  // namespace

std::string read_messages_file(const std::filesystem::path& path) {
  return util::read_file(path, kMaxMessagesFileBytes);
}

Conversation parse_conversation(std::string_view text, std::string_view source_name) {
  return parse_list(parse_json(text, source_name), std::string(source_name));
}

std::vector<Conversation> parse_conversations(std::string_view text, std::string_view source_name) {
  const json doc = parse_json(text, source_name);
  const std::string where(source_name);
  const bool batch = doc.is_array() && !doc.empty() && doc.front().is_array();
  if (!batch) return {parse_list(doc, where)};
  std::vector<Conversation> out;
  for (size_t i = 0; i < doc.size(); ++i)
    out.push_back(parse_list(doc[i], fmt::format("{}[{}]", where, i)));
  return out;
}

std::string to_json(const Conversation& conversation) {
  json out = json::array();
  for (size_t i = 0; i < conversation.size(); ++i) {
    const auto& message = conversation[i];
    const std::string where = fmt::format("messages[{}]", i);
    json m = {{"role", utf8(message.role, where + ".role")}};
    if (message.content_is_string && message.content.size() == 1 &&
        message.content.front().type == ContentPart::Type::kText) {
      m["content"] = utf8(message.content.front().text, where + ".content");
    } else {
      m["content"] = json::array();
      for (size_t j = 0; j < message.content.size(); ++j) {
        m["content"].push_back(
            part_json(message.content[j], fmt::format("{}.content[{}]", where, j)));
      }
    }
    out.push_back(std::move(m));
  }
  return out.dump();
}

}  // namespace gemma
