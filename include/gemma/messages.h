#pragma once
/// Chat messages in transformers' format: a conversation is a list of {"role", "content"} where
/// content is a string or a list of parts {"type": "text" | "image" | "audio" | "video", ...}.
/// Build them in C++:
///
///     using namespace gemma::chat;
///     gemma::Conversation chat = {system("Be brief."),
///                                 user({image("cat.png"), text("What is this?")})};
///
/// or parse the JSON transformers accepts with parse_conversation().
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/audio.h"
#include "gemma/export.h"
#include "gemma/image.h"

namespace gemma {

/// One part of a message's content.
struct ContentPart {
  enum class Type { kText, kImage, kAudio, kVideo };
  Type type = Type::kText;
  std::string text;    ///< kText: the text
  std::string source;  ///< kImage / kAudio / kVideo: a path, file:// or http(s) URL, or data: URI
  std::shared_ptr<const Image> image;  ///< kImage given as decoded pixels (source is then empty)
  std::shared_ptr<const Audio> audio;  ///< kAudio given as samples (source is then empty)
};

/// One message. `content_is_string` keeps transformers' distinction between "content": "..." and
/// "content": [{"type": "text", ...}]: Gemma's template trims the first and not the second.
struct Message {
  std::string role;  ///< "system", "user", "assistant" (or "model")
  std::vector<ContentPart> content;
  bool content_is_string = false;
};

using Conversation = std::vector<Message>;

/// Builders that read like transformers' message dicts.
namespace chat {
GEMMA_API ContentPart text(std::string text);
/// An image from a path, file:// or http(s) URL, or data: URI; loaded when the prompt is built.
GEMMA_API ContentPart image(std::string source);
GEMMA_API ContentPart image(Image decoded);
GEMMA_API ContentPart audio(std::string source);
/// Samples at any rate; resampled to the feature extractor's rate when the prompt is built.
GEMMA_API ContentPart audio(Audio decoded);
/// A video file; its frames are sampled (VideoOptions) and passed as images.
GEMMA_API ContentPart video(std::string source);
GEMMA_API Message system(std::string text);
GEMMA_API Message user(std::string text);
GEMMA_API Message user(std::vector<ContentPart> parts);
GEMMA_API Message assistant(std::string text);
}  // namespace chat

/// Parses one conversation (a JSON list of messages) as transformers' apply_chat_template accepts
/// it: "content" a string or a list of parts; media parts name their input with "path", "url",
/// "image" / "audio" / "video", or "base64" (images; raw base64 or a data: URI); OpenAI-style
/// {"type": "image_url", "image_url": {"url": ...}} is accepted too. Throws InvalidArgumentError
/// naming `source_name`, the message index and the field, e.g.
/// "messages[1].content[0]: an image part needs one of path, url, image, base64".
GEMMA_API Conversation parse_conversation(std::string_view json,
                                          std::string_view source_name = "messages");

/// A single conversation or a JSON list of conversations (a batch).
GEMMA_API std::vector<Conversation> parse_conversations(std::string_view json,
                                                        std::string_view source_name = "messages");

/// The conversation as JSON in transformers' format (decoded media become {"type": "image"} /
/// {"type": "audio"} parts without a source).
GEMMA_API std::string to_json(const Conversation& conversation);

}  // namespace gemma
