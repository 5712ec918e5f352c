#include "processor/chat_template.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "gemma/chat_template.h"
#include "gemma/config.h"
#include "gemma/error.h"
#include "support/paths.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

Json load_golden() {
  std::ifstream in(gemma::test::data_dir() / "golden" / "chat_template.json", std::ios::binary);
  REQUIRE(in);
  return Json::parse(in);
}

fs::path hub_dir(const char* name) { return gemma::test::data_dir() / "configs" / name; }

std::string render(const gemma::ModelFiles& files, const Json& messages, bool generation_prompt,
                   Json extra = Json::object()) {
  const auto tmpl = gemma::jinja::Template::parse(files.chat_template, files.chat_template_file);
  gemma::RenderOptions options;
  options.add_generation_prompt = generation_prompt;
  options.extra = std::move(extra);
  return gemma::apply_chat_template(tmpl, messages, files.tokenizer, options);
}

}  // namespace

TEST_CASE("chat template renders transformers' conversations byte for byte",
          "[unit][chat_template]") {
  const Json golden = load_golden();
  REQUIRE(golden.size() >= 17);
  for (const fs::path& dir :
       {gemma::test::tiny_model_dir(), hub_dir("gemma-3n-E2B-it"), hub_dir("gemma-3n-E4B-it")}) {
    const gemma::ModelFiles files = gemma::load_model_files(dir);
    const auto tmpl = gemma::jinja::Template::parse(files.chat_template, files.chat_template_file);
    for (const auto& c : golden) {
      INFO(dir.filename().string() << ": " << c["name"].get<std::string>());
      gemma::RenderOptions options;
      options.add_generation_prompt = c["add_generation_prompt"].get<bool>();
      if (c.contains("rendered")) {
        CHECK(gemma::apply_chat_template(tmpl, c["messages"], files.tokenizer, options) ==
              c["rendered"].get<std::string>());
        continue;
      }
      // transformers reports "TemplateError: <the template's raise_exception message>"; so do
      // we, after the template file and the place of the raise_exception call.
      const std::string error = c["error"];
      try {
        gemma::apply_chat_template(tmpl, c["messages"], files.tokenizer, options);
        FAIL_CHECK("no error");
      } catch (const gemma::ProcessorError& e) {
        CHECK_THAT(e.what(),
                   StartsWith("[gemma.processor] " + files.chat_template_file + " line "));
        CHECK_THAT(e.what(), EndsWith(": " + error));
      }
    }
  }
}

TEST_CASE("the hub's E2B and E4B checkpoints carry the tiny model's template",
          "[unit][chat_template]") {
  const std::string tiny = gemma::load_model_files(gemma::test::tiny_model_dir()).chat_template;
  REQUIRE_FALSE(tiny.empty());
  // E2B keeps it in tokenizer_config.json, E4B in chat_template.jinja.
  CHECK(gemma::load_model_files(hub_dir("gemma-3n-E2B-it")).chat_template == tiny);
  CHECK(gemma::load_model_files(hub_dir("gemma-3n-E4B-it")).chat_template == tiny);
}

TEST_CASE(
    "chat template receives the special tokens, tools and documents as transformers passes them",
    "[unit][chat_template]") {
  gemma::ModelFiles files = gemma::load_model_files(gemma::test::tiny_model_dir());
  files.chat_template =
      "{{ bos_token }}{{ eos_token }}{{ pad_token }}{{ unk_token }}{{ image_token }}{{ boi_token }}"
      "{{ eoi_token }}{{ audio_token }}{{ boa_token }}{{ eoa_token }}|{{ tools is none }}"
      "{{ documents is none }}{{ add_generation_prompt }}|{{ messages|length }}";
  const Json messages = Json::parse(R"([{"role": "user", "content": "x"}])");
  CHECK(render(files, messages, false) ==
        "<bos><eos><pad><unk><image_soft_token><start_of_image><end_of_image><audio_soft_token>"
        "<start_of_audio><end_of_audio>|TrueTrueFalse|1");
  files.chat_template = "{{ tools|tojson }}|{{ bos_token }}|{{ enable_thinking }}";
  CHECK(render(files, messages, true,
               Json::parse(
                   R"({"tools": [{"name": "f"}], "bos_token": "B", "enable_thinking": false})")) ==
        R"([{"name": "f"}]|B|False)");
  CHECK_THROWS_AS(render(files, messages, true, Json{{"messages", Json::array()}}),
                  gemma::InvalidArgumentError);
}

TEST_CASE("conversations are normalised as transformers does", "[unit][chat_template]") {
  SECTION("null fields are dropped") {
    const Json out = gemma::normalize_messages(
        Json::parse(R"([{"role": "assistant", "content": null, "tool_calls": []}])"), "m");
    CHECK(out.dump() == R"([{"role":"assistant","tool_calls":[]}])");
  }
  SECTION("OpenAI image_url parts become image parts") {
    const Json out = gemma::normalize_messages(Json::parse(R"([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://x/cat.png"}},
        {"type": "image_url", "image_url": "data:abc"},
        {"type": "text", "text": "hi"}]}])"),
                                               "m");
    CHECK(out[0]["content"].dump() ==
          R"([{"type":"image","url":"http://x/cat.png"},{"type":"image","url":"data:abc"},)"
          R"({"type":"text","text":"hi"}])");
  }
  SECTION("reasoning is aliased under thinking and reasoning_content") {
    const Json out = gemma::normalize_messages(
        Json::parse(R"([{"role": "assistant", "reasoning": "r", "content": "c"}])"), "m");
    CHECK(out[0].dump() == R"({"thinking":"r","role":"assistant","reasoning":"r","content":"c",)"
                           R"("reasoning_content":"r"})");
  }
  SECTION("malformed conversations name the message") {
    CHECK_THROWS_WITH(gemma::normalize_messages(Json::object(), "conv.json"),
                      StartsWith("[gemma.invalid_argument] conv.json: expected a JSON list"));
    CHECK_THROWS_WITH(gemma::normalize_messages(Json::array(), "conv.json"),
                      Contains("conv.json: Cannot apply chat template to an empty conversation"));
    CHECK_THROWS_WITH(
        gemma::normalize_messages(Json::parse(R"([{"role": "user"}, "hello"])"), "conv.json"),
        Contains("conv.json[1]: a message must be a JSON object, got string"));
  }
}

TEST_CASE("ChatTemplate loads a model directory's template once and renders JSON text",
          "[unit][chat_template]") {
  const auto tmpl = gemma::ChatTemplate::load(gemma::test::tiny_model_dir());
  CHECK(tmpl.source() == gemma::load_model_files(gemma::test::tiny_model_dir()).chat_template);
  const std::string messages = R"([{"role": "user", "content": " Hi "}])";
  CHECK(tmpl.render(messages) ==
        "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  CHECK(tmpl.render(messages, false) == "<bos><start_of_turn>user\nHi<end_of_turn>\n");
  CHECK(gemma::render_chat_template(gemma::test::tiny_model_dir(), messages, false) ==
        tmpl.render(messages, false));
  CHECK_THROWS_WITH(tmpl.render("[{", true, "", "conv.json"),
                    StartsWith("[gemma.invalid_argument] conv.json: invalid JSON:"));
  CHECK_THROWS_WITH(
      tmpl.render(R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])"),
      EndsWith(": TemplateError: Conversation roles must alternate "
               "user/assistant/user/assistant/..."));
  CHECK_THROWS_AS(gemma::ChatTemplate::load(gemma::test::data_dir() / "no-such-model"),
                  gemma::Error);
}

TEST_CASE("the default template budget leaves real conversations far inside it",
          "[unit][chat_template]") {
  // 100 turns of 1 KB each through the real Gemma 3n template: well under a 2^20 work budget,
  // 64 times below the default (TemplateLimits::max_work).
  const auto files = gemma::load_model_files(gemma::test::tiny_model_dir());
  const auto tmpl = gemma::jinja::Template::parse(files.chat_template, files.chat_template_file);
  Json messages = Json::array();
  for (int i = 0; i < 100; ++i) {
    messages.push_back(
        {{"role", i % 2 ? "assistant" : "user"}, {"content", std::string(1000, 'a')}});
  }
  gemma::RenderOptions options;
  options.limits.max_work = std::uint64_t{1} << 20;
  CHECK(gemma::apply_chat_template(tmpl, messages, files.tokenizer, options).size() > 100000);
  options.limits.max_work = 100000;  // and the budget is what stops a bigger one
  CHECK_THROWS_WITH(gemma::apply_chat_template(tmpl, messages, files.tokenizer, options),
                    Contains("TemplateLimits::max_work"));
}
