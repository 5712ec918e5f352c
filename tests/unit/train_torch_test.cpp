// The torch side of fine-tuning on the tiny model: LoRA targets, merge, adapter validation, labels
// and the per-epoch order.
#include <ATen/ops/allclose.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/randn.h>
#include <c10/core/GradMode.h>
#include <catch2/catch.hpp>

#include <fstream>

#include "gemma/error.h"
#include "gemma/processor.h"
#include "gemma/train.h"
#include "io/safetensors.h"
#include "io/tensor.h"
#include "model/loader.h"
#include "support/paths.h"
#include "train/data.h"
#include "train/lora.h"
#include "util/files.h"

namespace gemma {
namespace {

model::LoadedModel tiny() {
  return model::load_model(test::tiny_model_dir(), at::TensorOptions().dtype(at::kFloat));
}

at::Tensor logits(model::LoadedModel& m, const at::Tensor& ids) {
  at::NoGradGuard no_grad;
  model::ForwardInputs in;
  in.input_ids = ids;
  return m.model->forward(in).logits;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("LoRA targets follow PEFT's suffix, regex and all-linear rules", "[unit][train]") {
  auto m = tiny();
  LoraConfig suffix;
  suffix.target_modules = {"q_proj"};
  const auto q = train::lora_target_names(*m.model, suffix);
  // 8 text layers and the audio tower's conformer attention.
  CHECK(std::count_if(q.begin(), q.end(), [](auto& n) { return n.starts_with("model.language_model."); }) == 8);
  CHECK(std::count_if(q.begin(), q.end(), [](auto& n) { return n.starts_with("model.audio_tower."); }) > 0);
  LoraConfig regex;
  regex.target_regex = R"(.*language_model.*\.(q|v)_proj)";
  for (const auto& name : train::lora_target_names(*m.model, regex)) CHECK(name.find("language_model") != std::string::npos);
  LoraConfig all;
  all.all_linear = true;
  all.exclude_modules = {"embedding_projection"};
  const auto every = train::lora_target_names(*m.model, all);
  CHECK(every.size() > q.size());
  for (const auto& name : every) {
    CHECK(name.find("vision_tower") == std::string::npos);  // MobileNetV5 has no Linear layers
    CHECK(!name.ends_with("embedding_projection"));
  }
  LoraConfig none;
  none.target_modules = {"no_such_proj"};
  CHECK_THROWS_AS(train::attach_lora(*m.model, none), InvalidArgumentError);
}

TEST_CASE("a fresh adapter changes nothing; merging equals the unmerged adapter", "[unit][train]") {
  auto m = tiny();
  const auto ids = at::arange(1, 12, at::kLong).unsqueeze(0);
  const auto base = logits(m, ids);
  LoraConfig config;
  config.all_linear = true;
  config.r = 4;
  config.lora_alpha = 16;
  train::attach_lora(*m.model, config);
  CHECK(at::equal(logits(m, ids), base));  // B starts at zero
  {
    at::NoGradGuard no_grad;
    for (auto& [key, tensor] : train::lora_state(*m.model)) tensor.copy_(at::randn(tensor.sizes()) * 0.05);
  }
  const auto unmerged = logits(m, ids);
  CHECK(!at::allclose(unmerged, base, 1e-3, 1e-3));
  train::merge_lora(*m.model);
  CHECK(train::lora_state(*m.model).empty());
  const auto merged = logits(m, ids);
  const double error = (merged - unmerged).abs().max().item<double>() / unmerged.abs().max().item<double>();
  INFO("merged vs unmerged logits, relative " << error);
  CHECK(error < 1e-4);
}

TEST_CASE("adapters that do not fit the model are refused by name", "[unit][train]") {
  const auto dir = test::scratch_dir("bad_adapter");
  auto m = tiny();
  LoraConfig config;
  config.target_modules = {"q_proj", "v_proj"};
  config.r = 4;
  train::attach_lora(*m.model, config);
  train::save_adapter(*m.model, config, dir);

  SECTION("a rank the tensors do not have") {
    auto text = util::read_file(dir / "adapter_config.json");
    text.replace(text.find("\"r\": 4"), 6, "\"r\": 8");
    write(dir / "adapter_config.json", text);
    auto fresh = tiny();
    CHECK_THROWS_WITH(train::load_adapter(*fresh.model, {}, dir),
                      Catch::Contains("adapter_model.safetensors") && Catch::Contains("shape"));
  }
  SECTION("targets the tensors do not cover") {
    auto text = util::read_file(dir / "adapter_config.json");
    text.replace(text.find("\"q_proj\""), 8, "\"o_proj\"");
    write(dir / "adapter_config.json", text);
    auto fresh = tiny();
    CHECK_THROWS_WITH(train::load_adapter(*fresh.model, {}, dir),
                      Catch::Contains("unexpected") && Catch::Contains("missing"));
  }
  SECTION("a truncated weights file") {
    write(dir / "adapter_model.safetensors", "\x08\x00\x00\x00\x00\x00\x00\x00{}");
    auto fresh = tiny();
    CHECK_THROWS_AS(train::load_adapter(*fresh.model, {}, dir), Error);
  }
}

TEST_CASE("labels mask padding, media placeholders and (optionally) all but the replies",
          "[unit][train]") {
  const auto dir = test::scratch_dir("train_data");
  const auto image = (test::data_dir() / "images" / "rgb_landscape_256x160.png").string();
  write(dir / "data.jsonl",
        R"({"messages": [{"role": "user", "content": [{"type": "image", "path": "img.png"}, {"type": "text", "text": "Hi"}]}, {"role": "assistant", "content": "Hello there."}]})"
        "\n\n"
        R"([{"role": "user", "content": "Two?"}, {"role": "assistant", "content": "Yes."}, {"role": "user", "content": "Three?"}, {"role": "assistant", "content": "No."}])"
        "\n");
  std::filesystem::copy_file(image, dir / "img.png");
  const auto examples = train::read_examples(dir / "data.jsonl");
  REQUIRE(examples.size() == 2);
  CHECK(examples[0].source.ends_with("data.jsonl:1"));
  CHECK(examples[1].source.ends_with("data.jsonl:3"));
  CHECK(examples[0].conversation[0].content[0].source == (dir / "img.png").string());

  const auto processor = Processor::from_pretrained(test::tiny_model_dir());
  const auto config = load_model_config(test::tiny_model_dir());
  std::vector<const train::Example*> both = {&examples[0], &examples[1]};
  auto batch = train::collate(processor, config, both, {});
  REQUIRE(batch.labels.sizes() == batch.input_ids.sizes());
  for (int64_t id : {config.image_token_id, config.boi_token_id, config.eoi_token_id}) {
    CHECK(((batch.input_ids == id) & (batch.labels != train::kIgnoreIndex)).sum().item<int64_t>() == 0);
  }
  CHECK(((batch.input_ids == config.image_token_id).sum().item<int64_t>()) > 0);
  CHECK(((batch.attention_mask == 0) & (batch.labels != train::kIgnoreIndex)).sum().item<int64_t>() == 0);
  CHECK(batch.media.pixel_values.defined());

  // Assistant-only: exactly the tokens of the two replies (text, then <end_of_turn> and newline).
  train::CollateOptions only;
  only.assistant_only_loss = true;
  std::vector<const train::Example*> second = {&examples[1]};
  auto replies = train::collate(processor, config, second, only);
  const auto kept = replies.labels.masked_select(replies.labels != train::kIgnoreIndex);
  std::vector<int64_t> ids(kept.data_ptr<int64_t>(), kept.data_ptr<int64_t>() + kept.numel());
  const auto text = processor.tokenizer().decode(ids, false);
  CHECK(text == "Yes.<end_of_turn>\nNo.<end_of_turn>\n");

  train::CollateOptions short_limit;
  short_limit.max_length = 5;
  CHECK_THROWS_WITH(train::collate(processor, config, second, short_limit),
                    Catch::Contains("data.jsonl:3") && Catch::Contains("--max-length"));
}

TEST_CASE("each epoch's order is torch.randperm(n) seeded with seed + epoch, split by rank",
          "[unit][train]") {
  // torch.randperm(6, generator=torch.Generator().manual_seed(42)) and seed 43.
  CHECK(train::epoch_order(6, 42, 0, 0, 1) == std::vector<int64_t>{0, 3, 2, 4, 1, 5});
  CHECK(train::epoch_order(6, 42, 1, 0, 1) == std::vector<int64_t>{4, 0, 5, 1, 2, 3});
  // Two ranks interleave one permutation; 5 samples are padded by wrapping to 6.
  const auto all = train::epoch_order(5, 42, 0, 0, 1);
  const auto r0 = train::epoch_order(5, 42, 0, 0, 2), r1 = train::epoch_order(5, 42, 0, 1, 2);
  CHECK(r0 == std::vector<int64_t>{all[0], all[2], all[4]});
  CHECK(r1 == std::vector<int64_t>{all[1], all[3], all[0]});
}

}  // namespace gemma
