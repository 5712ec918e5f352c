#pragma once
/// Chat messages in transformers' format: a conversation is a list of {"role", "content"} where
/// content is a string or a list of parts {"type": "text" | "image" | "audio" | "video", ...}.
/// Build them in C++:
///
///     using namespace gemma::chat;
///     gemma::Conversation chat = {gemma::chat::system("Be brief."),
///                                 user({image("cat.png"), text("What is this?")})};
///
/// or parse the JSON transformers accepts with parse_conversation().
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/audio.h"
#include "gemma/export.h"
#include "gemma/image.h"

namespace gemma {

/// One part of a message's content. A plain value: copies share decoded media (immutable, held by
/// shared_ptr), so copying a Conversation copies no pixels or samples, and reading one from several
/// threads is safe. Media given by `source` are loaded only when a Processor builds the prompt.
struct ContentPart {
  /// transformers' part "type": "text", "image", "audio" or "video".
  enum class Type { kText, kImage, kAudio, kVideo };
  Type type = Type::kText;  ///< which of the fields below holds the part
  std::string text;         ///< kText: the text
  std::string source;  ///< kImage / kAudio / kVideo: a path, file:// or http(s) URL, or data: URI
  std::shared_ptr<const Image> image;  ///< kImage given as decoded pixels (source is then empty)
  std::shared_ptr<const Audio> audio;  ///< kAudio given as samples (source is then empty)
};

/// One message. `content_is_string` keeps transformers' distinction between "content": "..." and
/// "content": [{"type": "text", ...}]: Gemma's template trims the first and not the second.
struct Message {
  std::string role;  ///< "system", "user", "assistant" (or "model")
  std::vector<ContentPart> content;
  bool content_is_string = false;  ///< true: "content": "..." (then `content` is one text part)
};

/// A conversation in order, as transformers' list of message dicts.
using Conversation = std::vector<Message>;

/// Builders that read like transformers' message dicts.
namespace chat {
/// {"type": "text", "text": text}.
GEMMA_API ContentPart text(std::string text);
/// An image from a path, file:// or http(s) URL, or data: URI; loaded when the prompt is built.
GEMMA_API ContentPart image(std::string source);
/// An image already decoded (e.g. gemma::image_from_rgb, gemma::image_from_mat); the part owns it.
GEMMA_API ContentPart image(Image decoded);
/// Audio from a path, file:// or http(s) URL, or data: URI; decoded and resampled to the feature
/// extractor's rate (16 kHz) when the prompt is built.
GEMMA_API ContentPart audio(std::string source);
/// Mono samples at any rate; resampled to the feature extractor's rate when the prompt is built.
/// The part owns them.
GEMMA_API ContentPart audio(Audio decoded);
/// A video from a path, file:// or http(s) URL, or data: URI; its frames are sampled
/// (ChatTemplateOptions::video) and passed as images, 256 soft tokens each with the hub models.
GEMMA_API ContentPart video(std::string source);
/// {"role": "system", "content": text}: a string content, as user(std::string) and assistant()
/// make. Call it qualified (`chat::system("...")`): under `using namespace gemma::chat` an
/// unqualified `system("...")` would otherwise find the C library's `::system(const char*)` (an
/// exact match) and run a shell command; the `const char*` overload below turns that into an
/// ambiguity compile error instead.
GEMMA_API Message system(std::string text);
GEMMA_API Message system(const char* text);
/// {"role": "user", "content": text}.
GEMMA_API Message user(std::string text);
/// {"role": "user", "content": [parts...]}: a list content.
GEMMA_API Message user(std::vector<ContentPart> parts);
/// {"role": "assistant", "content": text}; the template writes it as a "model" turn.
GEMMA_API Message assistant(std::string text);
}  // namespace chat

/// Parses one conversation (a JSON list of messages) as transformers' apply_chat_template accepts
/// it: "content" a string or a list of parts; media parts name their input with "path", "url",
/// "image" / "audio" / "video", or "base64" (images; raw base64 or a data: URI); OpenAI-style
/// {"type": "image_url", "image_url": {"url": ...}} is accepted too. Throws InvalidArgumentError
/// naming `source_name`, the message index and the field, e.g.
/// "messages[1].content[0]: an image part needs one of image, url, path, base64".
GEMMA_API Conversation parse_conversation(std::string_view json,
                                          std::string_view source_name = "messages");

/// Largest messages file read_messages_file() reads: 512 MiB (base64 media included).
inline constexpr std::uint64_t kMaxMessagesFileBytes = std::uint64_t{512} << 20;

/// The bytes of a JSON messages file for parse_conversation(s) or ChatTemplate::render. Throws
/// IoError naming `path` when it is missing, not a regular file (a FIFO, a device) or larger than
/// kMaxMessagesFileBytes.
GEMMA_API std::string read_messages_file(const std::filesystem::path& path);

/// A single conversation or a JSON list of conversations (a batch).
GEMMA_API std::vector<Conversation> parse_conversations(std::string_view json,
                                                        std::string_view source_name = "messages");

/// The conversation as JSON in transformers' format (decoded media become {"type": "image"} /
/// {"type": "audio"} parts without a source). Throws InvalidArgumentError naming the message and
/// field ("messages[0].content") for text that is not valid UTF-8.
GEMMA_API std::string to_json(const Conversation& conversation);

}  // namespace gemma
