// The user-facing layer against transformers: pipeline("image-text-to-text") (pipeline.json), the
// detailed path Processor -> Model::generate -> batch_decode, a mixed batch against its rows run
// alone, and the processor's full output (processor_conversation.safetensors).
#include "gemma/pipeline.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "gemma/error.h"
#include "support/catch_torch.h"
#include "support/golden.h"
#include "support/paths.h"

using gemma::test::golden_conversations;
using gemma::test::load_golden;
using gemma::test::max_abs_diff;
using gemma::test::repo_path;
using gemma::test::with_absolute_paths;

namespace {

const gemma::Pipeline& tiny_pipeline() {
  static const auto pipe =
      gemma::pipeline("image-text-to-text", gemma::test::tiny_model_dir().string());
  return pipe;
}

gemma::GenerationConfig greedy(int64_t tokens) {
  gemma::GenerationConfig config;
  config.max_new_tokens = tokens;
  config.do_sample = false;
  return config;
}

// generated_ids rows as the goldens store them: up to the first EOS, then pad (0).
std::vector<int64_t> golden_row(const at::Tensor& ids, int64_t row) {
  std::vector<int64_t> out;
  for (int64_t j = 0; j < ids.size(1); ++j) {
    const auto t = ids[row][j].item<int64_t>();
    out.push_back(t);
    if (t == 1 || t == 6) break;
  }
  return out;
}

}  // namespace

TEST_CASE("pipeline(image-text-to-text) replies as transformers' pipeline does",
          "[golden][pipeline]") {
  std::ifstream in(gemma::test::data_dir() / "golden" / "pipeline.json");
  const auto golden = nlohmann::json::parse(in);
  for (const auto& entry : golden["entries"]) {
    const std::string name = entry["name"];
    DYNAMIC_SECTION(name) {
      const auto conversation =
          gemma::parse_conversation(with_absolute_paths(entry["messages"]).dump());
      const auto out = tiny_pipeline()(conversation, greedy(32));
      const std::string theirs = entry["new_text"];
      REQUIRE(out.generated_text.size() == conversation.size() + 1);
      CHECK(out.generated_text.back().role == "assistant");
      CHECK(out.generated_text.back().content.front().text == out.text);
      if (name == "text_chat") {
        // transformers' pipeline fails to strip a text-only prompt from its reply: it returns the
        // prompt and the reply decoded as one sequence. The same ids decode to the same text.
        static const auto processor =
            gemma::Processor::from_pretrained(gemma::test::tiny_model_dir());
        const auto prompt = processor.apply_chat_template(conversation).input_ids.contiguous();
        std::vector<int64_t> ids(prompt.data_ptr<int64_t>(),
                                 prompt.data_ptr<int64_t>() + prompt.numel());
        ids.insert(ids.end(), out.tokens.begin(), out.tokens.end());
        CHECK(processor.tokenizer().decode(ids, /*skip_special_tokens=*/true) == theirs);
        CHECK(out.tokens.size() == 32);
        CHECK_FALSE(out.text.empty());
      } else {
        CHECK(out.text == theirs);
      }
    }
  }
}

TEST_CASE("a batch of four mixed conversations gives each row's tokens as run alone",
          "[golden][pipeline]") {
  // Rows: text, image, a 0.5 s clip, image + a 1 s clip.
  const auto conversations = golden_conversations("model_m_mixed_batch.safetensors");
  REQUIRE(conversations.size() == 4);
  auto g = load_golden("model_m_mixed_batch.safetensors");
  const auto batched = tiny_pipeline()(conversations, greedy(40));  // batch_size 8: one batch
  REQUIRE(batched.size() == 4);
  for (size_t row = 0; row < 4; ++row) {
    INFO("row " << row);
    CHECK(tiny_pipeline()(conversations[row], greedy(40)).tokens == batched[row].tokens);
  }
  // transformers pads a batch's clips to the longest and counts frame i as real audio when sample
  // 160·i is: in its batch the 0.5 s clip has 50 frames, alone 48 (whole 512-sample windows), and
  // its reply differs. The Processor does the same by default (and then equals transformers'
  // batch); the pipeline extracts each clip as alone. Rows without a short clip equal both.
  for (size_t row : {0, 1, 3}) CHECK(batched[row].tokens == golden_row(g["generated_ids"], row));
  const auto& processor = tiny_pipeline().processor();
  gemma::ChatTemplateOptions transformers_batching;
  const auto batch = processor.apply_chat_template(conversations, transformers_batching);
  CHECK(batch.input_features_mask[0].sum().item<int64_t>() == 50);  // clips in row order
  const auto single = processor.apply_chat_template(conversations[2]);
  CHECK(single.input_features.size(1) == 48);
  gemma::ChatTemplateOptions per_clip;
  per_clip.audio_features_per_clip = true;
  const auto padded = processor.apply_chat_template(conversations, per_clip);
  CHECK(padded.input_features_mask[0].sum().item<int64_t>() == 48);
  CHECK(at::equal(padded.input_features[0].narrow(0, 0, 48), single.input_features[0]));
}

TEST_CASE("the detailed path: Processor, Model::generate, batch_decode", "[golden][pipeline]") {
  const auto& processor = tiny_pipeline().processor();
  const auto& model = tiny_pipeline().model();
  const auto conversations = golden_conversations("model_k_image_batch.safetensors");
  auto g = load_golden("model_k_image_batch.safetensors");
  const auto inputs = processor.apply_chat_template(conversations);
  CHECK(at::equal(inputs.input_ids, g["input_ids"]));
  const auto result = model.generate(inputs, greedy(40));
  const auto texts = processor.batch_decode(result.tokens, /*skip_special_tokens=*/true);
  REQUIRE(texts.size() == 2);
  for (size_t row = 0; row < 2; ++row) {
    CHECK(result.tokens[row] == golden_row(g["generated_ids"], row));
    CHECK(texts[row] == processor.tokenizer().decode(result.tokens[row], true));
  }
  CHECK(result.stats.prompt_tokens == g["attention_mask"].sum().item<int64_t>());
  CHECK(result.stats.peak_memory_bytes > 0);
}

TEST_CASE("the processor's full output equals transformers'", "[golden][processor]") {
  auto g = load_golden("processor_conversation.safetensors");
  const auto conversation = golden_conversations("processor_conversation.safetensors").front();
  const auto inputs = tiny_pipeline().processor().apply_chat_template(conversation);
  CHECK(at::equal(inputs.input_ids, g["input_ids"]));
  CHECK(at::equal(inputs.attention_mask, g["attention_mask"]));
  CHECK(at::equal(inputs.token_type_ids, g["token_type_ids"]));
  CHECK(max_abs_diff(inputs.pixel_values, g["pixel_values"]) == 0.0);
  CHECK(at::equal(inputs.input_features_mask, g["input_features_mask"]));
  CHECK(max_abs_diff(inputs.input_features, g["input_features"]) <= 1e-5);
}

TEST_CASE("placeholders typed into the text are refused with both counts", "[golden][processor]") {
  using namespace gemma::chat;
  const auto image = repo_path("tests/data/images/palette_200x120.png").string();
  const gemma::Conversation conversation = {
      user({gemma::chat::image(image), text("what is <image_soft_token>?")})};
  CHECK_THROWS_WITH(tiny_pipeline().processor().apply_chat_template(conversation),
                    Catch::Contains("2 <image_soft_token> placeholders but 1 images"));
}

TEST_CASE("text-generation pipelines do not load the towers", "[golden][pipeline]") {
  const auto pipe = gemma::pipeline("text-generation", gemma::test::tiny_model_dir().string());
  using namespace gemma::chat;
  const auto image = repo_path("tests/data/images/palette_200x120.png").string();
  CHECK_THROWS_WITH(pipe({user({gemma::chat::image(image), text("Hi")})}, greedy(2)),
                    Catch::Contains("vision tower is not loaded"));
  CHECK_FALSE(pipe({user("Hi")}, greedy(2)).tokens.empty());
  CHECK_THROWS_AS(gemma::pipeline("summarization", gemma::test::tiny_model_dir().string()),
                  gemma::InvalidArgumentError);
}

TEST_CASE("pull-style streaming adds up to the reply", "[golden][pipeline]") {
  const gemma::Conversation conversation = {gemma::chat::user("Tell me a story.")};
  std::string streamed;
  for (const std::string& piece : tiny_pipeline().stream(conversation, greedy(12)))
    streamed += piece;
  CHECK(streamed == tiny_pipeline()(conversation, greedy(12)).text);
}
