#include "io/tensor.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/ones.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gemma/error.h"
#include "support/catch_torch.h"
#include "support/paths.h"
#include "util/torch_errors.h"

using Catch::Contains;

namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("every dtype of Python's fixture becomes a zero-copy tensor with its values",
          "[unit][tensor]") {
  const auto dir = gemma::test::data_dir() / "safetensors";
  const auto expected = read_json(dir / "all_dtypes.json")["tensors"];
  auto file = gemma::io::SafetensorsFile::open(dir / "all_dtypes.safetensors");
  for (const auto& info : file.tensors()) {
    INFO(info.name << " " << gemma::io::dtype_name(info.dtype));
    auto t = gemma::io::to_tensor(file, info);
    if (t.numel() > 0) CHECK(t.data_ptr() == static_cast<void*>(file.bytes(info).data()));
    CHECK(t.sizes().vec() == info.shape);
    // Complex values are listed as [real, imag] pairs.
    const bool complex = t.is_complex();
    std::vector<double> values;
    for (const auto& v : expected[info.name]["values"]) {
      if (v.is_array()) {
        for (const auto& part : v) values.push_back(part.get<double>());
      } else {
        values.push_back(v.get<double>());
      }
    }
    auto want = at::tensor(values, at::kDouble);
    auto got = complex ? at::view_as_real(t).to(at::kDouble) : t.to(at::kDouble);
    CHECK(at::equal(got.flatten(), want));
  }
}

TEST_CASE("tensor views keep the mapping alive after the file object is gone", "[unit][tensor]") {
  at::Tensor t;
  {
    auto file = gemma::io::SafetensorsFile::open(gemma::test::data_dir() / "safetensors" /
                                                 "all_dtypes.safetensors");
    t = gemma::io::to_tensor(file, file.tensors().front());
  }
  CHECK(t.numel() > 0);
  CHECK(t.to(at::kDouble).sum().item<double>() == t.to(at::kDouble).sum().item<double>());
}

TEST_CASE("save_tensors round-trips values, dtypes and shapes", "[unit][tensor]") {
  auto dir = gemma::test::scratch_dir("tensor-roundtrip");
  auto a = at::arange(12, at::kFloat).reshape({3, 4}).to(at::kBFloat16);
  auto b = at::arange(6, at::kLong).reshape({2, 3}).t();  // non-contiguous on purpose
  gemma::io::save_tensors(dir / "x.safetensors", {{"a", a}, {"b", b}});
  auto file = gemma::io::SafetensorsFile::open(dir / "x.safetensors");
  CHECK(at::equal(gemma::io::to_tensor(file, file.at("a")), a));
  CHECK(at::equal(gemma::io::to_tensor(file, file.at("b")), b));
}

TEST_CASE("dtypes LibTorch lacks are refused by name", "[unit][tensor]") {
  std::string header = R"({"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(header.size());
  bytes += header + std::string(1, '\0');
  auto file = gemma::io::SafetensorsFile::parse(gemma::io::MappedFile::from_bytes(bytes), "f4");
  CHECK_THROWS_AS(gemma::io::to_tensor(file, file.at("w")), gemma::UnsupportedError);
  CHECK_THROWS_WITH(gemma::io::to_tensor(file, file.at("w")),
                    Contains("f4: tensor 'w': dtype F4 has no LibTorch equivalent"));
}

TEST_CASE("LibTorch failures become gemma errors naming the operation", "[unit][tensor]") {
  // 2^62 bytes: no allocator gives them, and LibTorch says so with a c10::Error.
  const auto huge = [] { return at::empty({int64_t{1} << 60}, at::kFloat); };
  CHECK_THROWS_AS(gemma::util::with_torch_errors("loading x", huge), gemma::ResourceError);
  CHECK_THROWS_WITH(gemma::util::with_torch_errors("loading x", huge),
                    Contains("[gemma.resource] loading x: out of memory"));
  const auto bad_view = [] { return at::ones({2, 3}).view({4}); };
  CHECK_THROWS_AS(gemma::util::with_torch_errors("generate", bad_view), gemma::InternalError);
  CHECK_THROWS_WITH(gemma::util::with_torch_errors("generate", bad_view),
                    Contains("generate: LibTorch failed: "));
  CHECK(gemma::util::with_torch_errors("fine", [] { return 7; }) == 7);
}
