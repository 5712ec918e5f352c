#include "io/safetensors.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "gemma/error.h"
#include "support/paths.h"
#include "util/files.h"

using Catch::Contains;
using gemma::io::Dtype;
using gemma::io::MappedFile;
using gemma::io::SafetensorsFile;
using gemma::io::TensorToWrite;

namespace {

std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file made of an explicit header text and `data_bytes` zero bytes.
std::string file_bytes(const std::string& header, std::size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

SafetensorsFile parse(const std::string& bytes) {
  return SafetensorsFile::parse(MappedFile::from_bytes(bytes), "test.safetensors");
}

// Parsing must fail with a WeightError whose message names the file and contains `needle`.
void require_weight_error(const std::string& bytes, const std::string& needle) {
  try {
    parse(bytes);
    FAIL("parsed without error; expected: " << needle);
  } catch (const gemma::WeightError& e) {
    INFO(e.what());
    CHECK(e.code() == gemma::ErrorCode::kWeights);
    CHECK_THAT(e.what(), Contains("test.safetensors") && Contains(needle));
  }
}

}  // namespace

TEST_CASE("a well-formed file parses into views on the buffer", "[unit][safetensors]") {
  std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"I8","shape":[3],"data_offsets":[8,11]}})";
  auto bytes = file_bytes(header, 11);
  float values[2] = {1.5f, -2.0f};
  std::memcpy(bytes.data() + 8 + header.size(), values, 8);
  auto file = parse(bytes);

  REQUIRE(file.tensors().size() == 2);
  CHECK(file.tensors()[0].name == "b");  // offset order, not name order
  CHECK(file.metadata() == std::vector<std::pair<std::string, std::string>>{{"format", "pt"}});
  const auto& b = file.at("b");
  CHECK(b.dtype == Dtype::kF32);
  CHECK(b.shape == std::vector<std::int64_t>{2});
  float read[2];
  std::memcpy(read, file.bytes(b).data(), 8);
  CHECK(read[0] == 1.5f);
  CHECK(read[1] == -2.0f);
  CHECK(file.find("missing") == nullptr);
  CHECK_THROWS_WITH(file.at("missing"), Contains("test.safetensors") && Contains("missing"));
}

TEST_CASE("an empty tensor set and zero-sized tensors are valid", "[unit][safetensors]") {
  CHECK(parse(file_bytes("{}", 0)).tensors().empty());
  auto file = parse(file_bytes(R"({"z":{"dtype":"F16","shape":[0,4],"data_offsets":[0,0]}})", 0));
  CHECK(file.at("z").numel() == 0);
}

TEST_CASE("malformed files give a WeightError naming the file and the problem",
          "[unit][safetensors]") {
  SECTION("shorter than the length prefix") {
    require_weight_error("", "fewer than the 8-byte header length");
    require_weight_error("abc", "fewer than the 8-byte header length");
  }
  SECTION("header length past the end of the file") {
    require_weight_error(le64(64) + "{}", "runs past the end");
  }
  SECTION("header length above the 100 MB bound") {
    require_weight_error(le64(100'000'001) + "{}", "exceeds the 100000000-byte limit");
    require_weight_error(le64(~std::uint64_t{0}) + "{}", "exceeds");
  }
  SECTION("header not JSON") {
    require_weight_error(file_bytes("{not json", 0), "invalid JSON");
    require_weight_error(file_bytes("{\"a\":\"\xff\xfe\"}", 0), "invalid JSON");
  }
  SECTION("header not an object") {
    require_weight_error(file_bytes("[1,2]", 0), "must be a JSON object");
  }
  SECTION("unknown dtype") {
    require_weight_error(file_bytes(R"({"t":{"dtype":"F12","shape":[1],"data_offsets":[0,2]}})", 2),
                         "tensor 't': unknown dtype 'F12'");
  }
  SECTION("dtype of the wrong type") {
    require_weight_error(file_bytes(R"({"t":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", 4),
                         "dtype must be a string");
  }
  SECTION("shape of the wrong type") {
    require_weight_error(file_bytes(R"({"t":{"dtype":"U8","shape":"3","data_offsets":[0,3]}})", 3),
                         "shape must be an array");
    require_weight_error(file_bytes(R"({"t":{"dtype":"U8","shape":[-3],"data_offsets":[0,3]}})", 3),
                         "shape must hold non-negative integers");
    require_weight_error(
        file_bytes(R"({"t":{"dtype":"U8","shape":[1.5],"data_offsets":[0,3]}})", 3),
        "shape must hold non-negative integers");
  }
  SECTION("offsets of the wrong type") {
    require_weight_error(file_bytes(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", 1),
                         "data_offsets must be two non-negative integers");
    require_weight_error(
        file_bytes(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":["0","1"]}})", 1),
        "data_offsets must be two non-negative integers");
    require_weight_error(file_bytes(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", 1),
                         "data_offsets must be two non-negative integers");
  }
  SECTION("missing field") {
    require_weight_error(file_bytes(R"({"t":{"dtype":"U8","shape":[1]}})", 1),
                         "missing 'data_offsets'");
  }
  SECTION("offsets that end before they begin") {
    require_weight_error(file_bytes(R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}})", 4),
                         "end before they begin");
  }
  SECTION("offsets out of range") {
    require_weight_error(file_bytes(R"({"t":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", 4),
                         "run past the data section");
  }
  SECTION("overlapping tensors") {
    require_weight_error(file_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                    R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                                    6),
                         "tensor 'b': data_offsets [2, 6] overlap");
  }
  SECTION("a gap between tensors") {
    require_weight_error(file_bytes(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                    R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                                    6),
                         "leave a gap");
  }
  SECTION("bytes after the last tensor") {
    require_weight_error(file_bytes(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 5),
                         "tensors cover 2 bytes but the data section has 5");
  }
  SECTION("byte length differs from numel x element size") {
    require_weight_error(
        file_bytes(R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20),
        "tensor 'a': 20 bytes stored but F32 × [2,3] needs 24");
  }
  SECTION("shape whose size overflows") {
    require_weight_error(
        file_bytes(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
                   8),
        "shape overflows");
  }
  SECTION("duplicate names") {
    require_weight_error(file_bytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                    R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                    2),
                         "names tensor 'a' twice");
  }
  SECTION("metadata that is not a map of strings") {
    require_weight_error(file_bytes(R"({"__metadata__":{"n":3}})", 0),
                         "__metadata__ entry 'n' must be a string");
  }
}

TEST_CASE("a file that cannot be read is an IoError naming it", "[unit][safetensors]") {
  CHECK_THROWS_AS(SafetensorsFile::open("/nonexistent/x.safetensors"), gemma::IoError);
  CHECK_THROWS_WITH(SafetensorsFile::open("/nonexistent/x.safetensors"),
                    Contains("/nonexistent/x.safetensors"));
  CHECK_THROWS_AS(SafetensorsFile::open(gemma::test::data_dir()), gemma::IoError);
}

TEST_CASE("the writer round-trips through the reader", "[unit][safetensors]") {
  auto dir = gemma::test::scratch_dir("safetensors-roundtrip");
  std::vector<std::int32_t> ints = {1, -2, 3, -4, 5, -6};
  std::vector<std::uint8_t> flags = {1, 0, 1};
  std::vector<double> doubles = {3.25};
  auto as_bytes = [](const auto& v) { return std::as_bytes(std::span(v.data(), v.size())); };
  std::vector<TensorToWrite> tensors = {
      {"model.flags", Dtype::kBool, {3}, as_bytes(flags)},
      {"model.ints", Dtype::kI32, {2, 3}, as_bytes(ints)},
      {"scalar", Dtype::kF64, {}, as_bytes(doubles)},
  };
  gemma::io::write_safetensors(dir / "t.safetensors", tensors, {{"format", "pt"}});
  auto file = SafetensorsFile::open(dir / "t.safetensors");

  REQUIRE(file.tensors().size() == 3);
  // The crate's order: descending dtype, so F64, I32, BOOL.
  CHECK(file.tensors()[0].name == "scalar");
  CHECK(file.tensors()[2].name == "model.flags");
  auto got = file.bytes(file.at("model.ints"));
  CHECK(std::memcmp(got.data(), ints.data(), got.size()) == 0);
  CHECK(file.at("scalar").shape.empty());
  CHECK(file.metadata().front().second == "pt");
}

TEST_CASE("the writer rejects inconsistent input", "[unit][safetensors]") {
  auto dir = gemma::test::scratch_dir("safetensors-writer");
  std::vector<float> v = {1, 2, 3};
  auto bytes = std::as_bytes(std::span(v));
  CHECK_THROWS_WITH(
      gemma::io::write_safetensors(dir / "bad.safetensors", {{"x", Dtype::kF32, {2, 2}, bytes}}),
      Contains("'x' has 12 bytes but F32 × [2,2] needs 16"));
  CHECK_THROWS_WITH(
      gemma::io::write_safetensors(dir / "dup.safetensors", {{"x", Dtype::kF32, {3}, bytes},
                                                             {"x", Dtype::kF32, {3}, bytes}}),
      Contains("'x' given twice"));
  CHECK_FALSE(std::filesystem::exists(dir / "bad.safetensors"));
}

TEST_CASE("files written by Python's safetensors parse, and rewriting them is byte-identical",
          "[unit][safetensors]") {
  const auto path = gemma::test::data_dir() / "safetensors" / "all_dtypes.safetensors";
  const auto expected = nlohmann::json::parse(gemma::util::read_file(
      gemma::test::data_dir() / "safetensors" / "all_dtypes.json"))["tensors"];
  auto file = SafetensorsFile::open(path);

  std::vector<TensorToWrite> again;
  for (const auto& t : file.tensors()) {
    INFO(t.name);
    REQUIRE(expected.contains(t.name));
    CHECK(gemma::io::dtype_name(t.dtype) == expected[t.name]["dtype"].get<std::string>());
    CHECK(t.shape == expected[t.name]["shape"].get<std::vector<std::int64_t>>());
    again.push_back({t.name, t.dtype, t.shape, file.bytes(t)});
  }
  CHECK(file.tensors().size() == expected.size());

  auto dir = gemma::test::scratch_dir("safetensors-python");
  gemma::io::write_safetensors(dir / "again.safetensors", again, file.metadata());
  CHECK(gemma::util::read_file(dir / "again.safetensors") == gemma::util::read_file(path));
}
