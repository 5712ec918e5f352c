#include "gemma/error.h"

#include <catch2/catch.hpp>

TEST_CASE("errors carry a code and a category-tagged message", "[unit][error]") {
  const gemma::WeightError e("model.safetensors: tensor 'x': unknown dtype 'F12'");
  CHECK(e.code() == gemma::ErrorCode::kWeights);
  CHECK(std::string(e.what()) == "[gemma.weights] model.safetensors: tensor 'x': unknown dtype 'F12'");
  CHECK(e.message() == "model.safetensors: tensor 'x': unknown dtype 'F12'");
  CHECK(gemma::IoError("").message().empty());

  // Every subclass is catchable as gemma::Error and as std::runtime_error.
  CHECK_THROWS_AS(throw gemma::ConfigError("x"), gemma::Error);
  CHECK_THROWS_AS(throw gemma::ProcessorError("x"), std::runtime_error);
  CHECK(gemma::error_category(gemma::ErrorCode::kInternal) == "internal");
  CHECK(gemma::error_category(gemma::ErrorCode::kResource) == "resource");
  CHECK(std::string(gemma::ResourceError("x").what()) == "[gemma.resource] x");
  CHECK(gemma::error_category(static_cast<gemma::ErrorCode>(99)) == "unknown");
}
