#include "gemma/messages.h"

#include <catch2/catch.hpp>

#include "gemma/error.h"

using gemma::ContentPart;
using gemma::InvalidArgumentError;
using gemma::parse_conversation;
using gemma::parse_conversations;

TEST_CASE("messages parse as transformers accepts them", "[messages]") {
  const auto c = parse_conversation(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [
      {"type": "image", "url": "https://example.com/cat.png"},
      {"type": "image", "path": "dog.jpg"},
      {"type": "image", "image": "data:image/png;base64,AAAA"},
      {"type": "image", "base64": "AAAA"},
      {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}},
      {"type": "audio", "audio": "talk.wav"},
      {"type": "video", "path": "clip.mp4"},
      {"type": "unknown", "foo": 1},
      {"type": "text", "text": "What is this?"}]},
    {"role": "assistant", "content": null}])");
  REQUIRE(c.size() == 3);
  CHECK(c[0].content_is_string);
  CHECK(c[0].content.front().text == "Be brief.");
  const auto& parts = c[1].content;
  REQUIRE(parts.size() == 8);  // the unknown part type is dropped, as Gemma's template ignores it
  CHECK(parts[0].source == "https://example.com/cat.png");
  CHECK(parts[1].source == "dog.jpg");
  CHECK(parts[2].source == "data:image/png;base64,AAAA");
  CHECK(parts[3].source == "data:image;base64,AAAA");
  CHECK(parts[4].type == ContentPart::Type::kImage);
  CHECK(parts[5].type == ContentPart::Type::kAudio);
  CHECK(parts[6].type == ContentPart::Type::kVideo);
  CHECK(parts[7].text == "What is this?");
  CHECK(c[2].content.empty());
}

TEST_CASE("bad messages are refused naming the message index and the field", "[messages]") {
  CHECK_THROWS_WITH(parse_conversation("not json", "chat.json"),
                    Catch::StartsWith("[gemma.invalid_argument] chat.json: invalid JSON"));
  CHECK_THROWS_WITH(parse_conversation("[]"),
                    Catch::Contains("messages: the conversation is empty"));
  CHECK_THROWS_WITH(parse_conversation(R"([{"content": "hi"}])"),
                    Catch::Contains("messages[0]: a message needs a \"role\""));
  CHECK_THROWS_WITH(parse_conversation(R"([{"role": 3, "content": "hi"}])"),
                    Catch::Contains("messages[0].role: must be a string"));
  CHECK_THROWS_WITH(parse_conversation(R"([{"role": "user", "content": 5}])"),
                    Catch::Contains("messages[0].content: must be a string, a list of parts"));
  CHECK_THROWS_WITH(
      parse_conversation(R"([{"role": "user", "content": "a"}, {"role": "user", "content": [
                            {"type": "text", "text": "x"}, {"type": "image"}]}])"),
      Catch::Contains(
          "messages[1].content[1]: an image part needs one of image, url, path, base64"));
  CHECK_THROWS_WITH(parse_conversation(R"([{"role": "user", "content": [{"text": "x"}]}])"),
                    Catch::Contains("messages[0].content[0]: a content part needs a \"type\""));
  CHECK_THROWS_WITH(
      parse_conversation(R"([{"role": "user", "content": [{"type": "audio", "url": ""}]}])"),
      Catch::Contains("messages[0].content[0].url: is empty"));
  // Found by fuzz_messages: an empty image_url gave a part without a source.
  CHECK_THROWS_WITH(
      parse_conversation(
          R"([{"role": "user", "content": [{"type": "image_url", "image_url": ""}]}])"),
      Catch::Contains("messages[0].content[0].image_url: is empty"));
  CHECK_THROWS_WITH(
      parse_conversation(
          R"([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": ""}}]}])"),
      Catch::Contains("messages[0].content[0].image_url.url: is empty"));
}

TEST_CASE("a batch is a list of conversations", "[messages]") {
  const auto batch = parse_conversations(R"([[{"role": "user", "content": "a"}],
                                             [{"role": "user", "content": "b"}]])");
  REQUIRE(batch.size() == 2);
  CHECK(batch[1][0].content[0].text == "b");
  CHECK(parse_conversations(R"([{"role": "user", "content": "a"}])").size() == 1);
  CHECK_THROWS_WITH(parse_conversations(R"([[{"role": "user", "content": "a"}], [5]])"),
                    Catch::Contains("messages[1][0]: a message must be an object"));
}

TEST_CASE("the builder gives transformers' JSON", "[messages]") {
  using namespace gemma::chat;
  const gemma::Conversation c = {gemma::chat::system("Be brief."),
                                 user({image("cat.png"), audio("https://x.org/a.wav"), text("Hi")}),
                                 assistant("Hello")};
  CHECK(
      gemma::to_json(c) ==
      R"([{"content":"Be brief.","role":"system"},{"content":[{"path":"cat.png","type":"image"},)"
      R"({"type":"audio","url":"https://x.org/a.wav"},{"text":"Hi","type":"text"}],"role":"user"},)"
      R"({"content":"Hello","role":"assistant"}])");
  CHECK(parse_conversation(gemma::to_json(c)).size() == 3);
}
