#include "io/checkpoint.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "gemma/error.h"
#include "support/paths.h"

using Catch::Contains;
using gemma::io::Checkpoint;
using gemma::io::Dtype;

namespace {

const std::vector<float> kValues = {1, 2, 3, 4};

void write_shard(const std::filesystem::path& path, const std::vector<std::string>& names) {
  std::vector<gemma::io::TensorToWrite> tensors;
  for (const auto& n : names) {
    tensors.push_back({n, Dtype::kF32, {4}, std::as_bytes(std::span(kValues))});
  }
  gemma::io::write_safetensors(path, tensors);
}

void write_index(const std::filesystem::path& dir, const std::string& weight_map) {
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"metadata":{"total_size":48},"weight_map":)" << weight_map << "}";
}

// Two shards a.safetensors {x, y} and b.safetensors {z}, plus the given index.
std::filesystem::path sharded(const std::string& name, const std::string& weight_map) {
  auto dir = gemma::test::scratch_dir(name);
  write_shard(dir / "a.safetensors", {"x", "y"});
  write_shard(dir / "b.safetensors", {"z"});
  write_index(dir, weight_map);
  return dir;
}

}  // namespace

TEST_CASE("a sharded checkpoint opens through its index", "[unit][checkpoint]") {
  auto dir = sharded("ckpt-ok", R"({"x":"a.safetensors","y":"a.safetensors","z":"b.safetensors"})");
  auto ckpt = Checkpoint::open(dir);
  CHECK(ckpt.files().size() == 2);
  CHECK(ckpt.entries().size() == 3);
  REQUIRE(ckpt.find("z") != nullptr);
  CHECK(ckpt.find("z")->file->source() == (dir / "b.safetensors").string());
  CHECK(ckpt.total_bytes() == 48);
  CHECK(Checkpoint::open(dir / "model.safetensors.index.json").entries().size() == 3);
}

TEST_CASE("a single-file checkpoint opens from its directory or file", "[unit][checkpoint]") {
  auto dir = gemma::test::scratch_dir("ckpt-single");
  write_shard(dir / "model.safetensors", {"w"});
  CHECK(Checkpoint::open(dir).entries().size() == 1);
  CHECK(Checkpoint::open(dir / "model.safetensors").entries().size() == 1);
}

TEST_CASE("the sharded fixture written by Python opens", "[unit][checkpoint]") {
  auto ckpt = Checkpoint::open(gemma::test::data_dir() / "safetensors" / "sharded");
  CHECK(ckpt.files().size() == 2);
  CHECK_FALSE(ckpt.entries().empty());
}

TEST_CASE("inconsistent indexes give a WeightError naming the index, shard and tensor",
          "[unit][checkpoint]") {
  SECTION("index names a missing shard") {
    auto dir =
        sharded("ckpt-missing", R"({"x":"a.safetensors","y":"a.safetensors","z":"c.safetensors"})");
    CHECK_THROWS_AS(Checkpoint::open(dir), gemma::WeightError);
    CHECK_THROWS_WITH(Checkpoint::open(dir), Contains("model.safetensors.index.json") &&
                                                 Contains("shard 'c.safetensors'") &&
                                                 Contains("does not exist"));
  }
  SECTION("index omits a tensor a shard holds") {
    auto dir = sharded("ckpt-omits", R"({"x":"a.safetensors","z":"b.safetensors"})");
    CHECK_THROWS_WITH(Checkpoint::open(dir),
                      Contains("shard 'a.safetensors' holds tensor 'y', which the index omits"));
  }
  SECTION("index places a tensor in a shard that lacks it") {
    auto dir =
        sharded("ckpt-wrong", R"({"x":"a.safetensors","y":"a.safetensors","z":"a.safetensors"})");
    CHECK_THROWS_WITH(Checkpoint::open(dir), Contains("tensor 'z' is in 'a.safetensors'"));
  }
  SECTION("shard names that leave the model directory") {
    auto dir = sharded("ckpt-escape", R"({"x":"../a.safetensors"})");
    CHECK_THROWS_WITH(Checkpoint::open(dir), Contains("not a file name in the model directory"));
  }
  SECTION("index is not JSON or lacks weight_map") {
    auto dir = sharded("ckpt-json", "[");
    CHECK_THROWS_WITH(Checkpoint::open(dir), Contains("invalid JSON"));
    write_index(dir, "[]");
    CHECK_THROWS_WITH(Checkpoint::open(dir), Contains("'weight_map' object"));
  }
  SECTION("a shard that is itself corrupt") {
    auto dir =
        sharded("ckpt-corrupt", R"({"x":"a.safetensors","y":"a.safetensors","z":"b.safetensors"})");
    std::filesystem::resize_file(dir / "b.safetensors", 20);
    CHECK_THROWS_WITH(Checkpoint::open(dir), Contains("b.safetensors"));
  }
}

TEST_CASE("a directory without weights is an IoError", "[unit][checkpoint]") {
  auto dir = gemma::test::scratch_dir("ckpt-empty");
  CHECK_THROWS_AS(Checkpoint::open(dir), gemma::IoError);
}
