// ContinuousBatcher against transformers 5.23 on models/tiny-gemma3n: requests that join a running
// batch at different steps (text, long, multi-turn, image and audio prompts, the rows of a padded
// batch on their own) each get the greedy tokens transformers generated for them alone, and seeded
// sampling gives transformers' sampled tokens.
#include "gemma/continuous_batching.h"

#include <ATen/ops/tensor.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "gemma/error.h"
#include "gemma/model.h"
#include "support/catch_torch.h"
#include "support/golden.h"
#include "support/paths.h"

using gemma::test::load_golden;

namespace {

const gemma::Model& model() {
  static const auto m = gemma::Model::from_pretrained(gemma::test::tiny_model_dir());
  return m;
}

struct Request {
  std::string name;
  gemma::BatchEncoding inputs;
  std::vector<int64_t> want;  // transformers' tokens, without the padding after EOS
  std::vector<int64_t> got;
  bool ended = false;
};

// transformers pads a row with 0 after its EOS.
std::vector<int64_t> without_padding(const at::Tensor& row) {
  std::vector<int64_t> ids(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  while (!ids.empty() && ids.back() == 0) ids.pop_back();
  return ids;
}

// Row `row` of a fixture alone: its left padding removed.
Request request(const std::string& file, int64_t row = 0) {
  auto g = load_golden(file);
  Request r;
  r.name = file + "[" + std::to_string(row) + "]";
  auto mask = g["attention_mask"][row];
  const auto start = (mask != 0).to(at::kInt).argmax().item<int64_t>();
  r.inputs.input_ids = g["input_ids"].narrow(0, row, 1).narrow(1, start, mask.size(0) - start);
  r.inputs.attention_mask = at::ones_like(r.inputs.input_ids);
  if (g.count("pixel_values")) r.inputs.pixel_values = g["pixel_values"];
  if (g.count("input_features")) {
    r.inputs.input_features = g["input_features"];
    r.inputs.input_features_mask = g["input_features_mask"];
  }
  r.want = without_padding(g["generated_ids"][row].contiguous());
  return r;
}

gemma::TokenCallback recorder(Request& r) {
  return [&r](const gemma::TokenEvent& e) {
    CHECK(e.row == 0);
    CHECK(e.index == static_cast<int64_t>(r.got.size()));
    r.got.push_back(e.token);
    r.ended = e.last;
    return true;
  };
}

}  // namespace

TEST_CASE("requests joining a running batch get transformers' greedy tokens",
          "[golden][generation]") {
  std::vector<Request> requests;
  for (const auto* file :
       {"model_a_text.safetensors", "model_d_image.safetensors", "model_b_long.safetensors",
        "model_e_audio.safetensors", "model_g_multi_turn.safetensors"}) {
    requests.push_back(request(file));
  }
  requests.push_back(request("model_c_batch.safetensors", 0));
  requests.push_back(request("model_c_batch.safetensors", 1));

  gemma::ContinuousBatcher batcher(model());
  // A new request every third step: short prompts join long ones and the other way round, and
  // rows leave while others run.
  size_t added = 0;
  int64_t most = 0;
  for (int step = 0; added < requests.size() || batcher.size() > 0; ++step) {
    if (step % 3 == 0 && added < requests.size()) {
      auto& r = requests[added++];
      batcher.add(r.inputs,
                  {.max_new_tokens = static_cast<int64_t>(r.want.size()), .do_sample = false},
                  recorder(r));
    }
    most = std::max(most, batcher.size());
    batcher.step();
  }
  CHECK(most >= 4);
  for (const auto& r : requests) {
    INFO(r.name);
    CHECK(r.got == r.want);
    CHECK(r.ended);
  }
}

TEST_CASE("seeded sampling in a running batch equals transformers' batch-of-one sampling",
          "[golden][generation]") {
  std::ifstream in(gemma::test::data_dir() / "golden" / "sampling.json");
  const auto cases = nlohmann::json::parse(in)["cases"];
  gemma::ContinuousBatcher batcher(model());
  // A greedy neighbour runs throughout: its presence must change nothing.
  auto neighbour = request("model_b_long.safetensors");
  batcher.add(neighbour.inputs, {.max_new_tokens = 40, .do_sample = false}, recorder(neighbour));
  std::vector<Request> sampled;
  sampled.reserve(cases.size());
  for (const auto& c : cases) {
    if (c["generated_ids"].size() != 1) continue;  // batch cases: one seed drives several rows
    auto r = request(std::filesystem::path(c["prompt"].get<std::string>()).filename());
    r.name = c["name"];
    r.want = c["generated_ids"][0].get<std::vector<int64_t>>();
    while (!r.want.empty() && r.want.back() == 0) r.want.pop_back();
    auto config = gemma::test::generation_config_from(c["generate_kwargs"]);
    config.max_new_tokens = c["max_new_tokens"].get<int64_t>();
    config.seed = c["seed"].get<uint64_t>();
    sampled.push_back(std::move(r));
    batcher.add(sampled.back().inputs, config, recorder(sampled.back()));
    batcher.step();
  }
  REQUIRE(sampled.size() == 3);
  while (batcher.size() > 0) batcher.step();
  for (const auto& r : sampled) {
    INFO(r.name);
    CHECK(r.got == r.want);
  }
  CHECK(neighbour.got == request("model_b_long.safetensors").want);
}

TEST_CASE("a request whose callback returns false leaves the batch; the others go on",
          "[golden][generation]") {
  auto a = request("model_a_text.safetensors"), b = request("model_g_multi_turn.safetensors");
  gemma::ContinuousBatcher batcher(model());
  batcher.add(a.inputs, {.max_new_tokens = 40, .do_sample = false},
              [&](const gemma::TokenEvent& e) {
                a.got.push_back(e.token);
                return e.index < 4;  // the fifth token ends it
              });
  batcher.add(b.inputs, {.max_new_tokens = 32, .do_sample = false}, recorder(b));
  CHECK(batcher.size() == 2);
  while (batcher.size() > 0) batcher.step();
  CHECK(a.got == std::vector<int64_t>(a.want.begin(), a.want.begin() + 5));
  CHECK(b.got == b.want);
}

TEST_CASE("ContinuousBatcher refuses what it cannot run, by name", "[unit][generation]") {
  gemma::ContinuousBatcher batcher(model());
  auto batch = load_golden("model_c_batch.safetensors");
  gemma::BatchEncoding two;
  two.input_ids = batch["input_ids"];
  two.attention_mask = batch["attention_mask"];
  CHECK_THROWS_AS(batcher.add(two, {}, {}), gemma::InvalidArgumentError);
  auto a = request("model_a_text.safetensors");
  CHECK_THROWS_AS(batcher.add(a.inputs, {.max_new_tokens = int64_t{1} << 62}, {}),
                  gemma::GenerationError);
  CHECK_THROWS_AS(batcher.add(a.inputs, {.stop_strings = {"x"}}, {}), gemma::InvalidArgumentError);
  // Rows joining and leaving reshape the batched cache: a fixed-shape one cannot serve.
  CHECK_THROWS_AS(batcher.add(a.inputs, {.cache_implementation = "static"}, {}),
                  gemma::InvalidArgumentError);
  CHECK_THROWS_WITH(batcher.add(a.inputs, {.cache_implementation = "static"}, {}),
                    Catch::Contains("static"));
  CHECK(batcher.size() == 0);
}
