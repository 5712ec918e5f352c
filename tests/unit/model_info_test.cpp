#include "gemma/model_info.h"

#include <catch2/catch.hpp>

#include <numeric>

#include "gemma/error.h"
#include "support/paths.h"

using Catch::Contains;

TEST_CASE("inspect_model summarises the tiny model from headers alone", "[unit][model_info]") {
  auto info = gemma::inspect_model(gemma::test::tiny_model_dir());
  CHECK(info.shards == 1);
  CHECK_FALSE(info.lm_head_stored);
  std::vector<std::string> names;
  for (const auto& c : info.components) names.push_back(c.name);
  CHECK(names == std::vector<std::string>{"text decoder", "vision tower", "audio tower",
                                          "vision embedder", "audio embedder"});
  auto sum = std::accumulate(info.components.begin(), info.components.end(), std::uint64_t{0},
                             [](auto acc, const auto& c) { return acc + c.parameters; });
  CHECK(sum == info.total_parameters);
  CHECK(info.total_bytes == 4 * info.total_parameters);  // float32 throughout

  auto text = gemma::describe(info);
  CHECK_THAT(text, Contains("text: 8 layers (6 sliding, 2 full; last 4 share KV)"));
  CHECK_THAT(text, Contains("vision: mobilenetv5_300m_enc, custom layout (15 blocks in 4 stages)"));
  CHECK_THAT(text, Contains("(lm_head tied to embed_tokens)"));
}

TEST_CASE("inspect_model names the file at fault", "[unit][model_info]") {
  auto dir = gemma::test::scratch_dir("model-info-bad");
  CHECK_THROWS_AS(gemma::inspect_model(dir), gemma::IoError);
  std::filesystem::copy(gemma::test::tiny_model_dir() / "config.json", dir / "config.json");
  CHECK_THROWS_WITH(gemma::inspect_model(dir), Contains(dir.string()));
}
