#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gemma/error.h"
#include "support/paths.h"
#include "train/tensorboard.h"
#include "util/files.h"

using Catch::Contains;
using Catch::StartsWith;
using gemma::train::masked_crc32c;
using gemma::train::scalar_event;
using gemma::train::tfrecord;

namespace {

uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8; }

template <typename T>
T read_le(const std::string& bytes, size_t at) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<T>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  }
  return value;
}

// The payloads of a TFRecord stream, checking both CRCs of each record.
std::vector<std::string> read_records(const std::string& bytes) {
  std::vector<std::string> payloads;
  size_t at = 0;
  while (at < bytes.size()) {
    REQUIRE(at + 12 <= bytes.size());
    const auto length = read_le<uint64_t>(bytes, at);
    CHECK(read_le<uint32_t>(bytes, at + 8) == masked_crc32c(bytes.substr(at, 8)));
    REQUIRE(at + 16 + length <= bytes.size());
    payloads.push_back(bytes.substr(at + 12, length));
    CHECK(read_le<uint32_t>(bytes, at + 12 + length) == masked_crc32c(payloads.back()));
    at += 16 + length;
  }
  return payloads;
}

// An Event's wall_time: field 1 (fixed64) comes first.
double wall_time_of(const std::string& event) {
  REQUIRE(event.size() >= 9);
  REQUIRE(event[0] == '\x09');
  double value;
  const uint64_t bits = read_le<uint64_t>(event, 1);
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

}  // namespace

TEST_CASE("masked_crc32c is TFRecord's masked CRC-32C", "[train][tensorboard]") {
  // The CRC-32C check value (RFC 3720, B.4).
  CHECK(masked_crc32c("123456789") == mask(0xE3069283));
  CHECK(masked_crc32c("") == mask(0));
  CHECK(masked_crc32c(std::string(32, '\0')) == mask(0x8A9136AA));
}

TEST_CASE("event records equal tensorboard's Python writer byte for byte", "[train][tensorboard]") {
  // scripts/fixtures/train_misc.py, write_tensorboard_fixture: tensorboard 2.21's event_pb2 and
  // RecordWriter.
  const auto golden = gemma::util::read_file(gemma::test::data_dir() / "golden" / "train" /
                                             "tensorboard_events.bin");
  std::string ours = tfrecord(gemma::train::file_version_event(1700000000.5));
  ours += tfrecord(scalar_event("train/loss", 2.5f, 10, 1700000001.25));
  ours += tfrecord(scalar_event("train/learning_rate", 2e-5f, 10, 1700000001.25));
  ours += tfrecord(scalar_event("eval/loss", 3.25f, 1000, 1700000123.75));
  ours += tfrecord(scalar_event("train/grad_norm", 0.0f, 0, 1700000000.75));
  CHECK(ours == golden);
}

TEST_CASE("negative steps encode as ten-byte varints", "[train][tensorboard]") {
  const std::string event = scalar_event("x", 1.0f, -1, 1.0);
  // wall_time (9 bytes), then the step key and 0xFF x9 0x01.
  CHECK(event.substr(9, 11) == std::string("\x10") + std::string(9, '\xFF') + "\x01");
}

TEST_CASE("TensorBoardWriter writes a readable event file", "[train][tensorboard]") {
  const auto dir = gemma::test::scratch_dir("train_tensorboard") / "runs" / "a";
  std::filesystem::path path;
  {
    gemma::train::TensorBoardWriter writer(dir);
    path = writer.path();
    writer.add_scalar("train/loss", 2.5, 10);
    writer.add_scalar("train/learning_rate", 1e-4, 10);
    writer.flush();
  }
  CHECK(path.parent_path() == dir);
  CHECK_THAT(path.filename().string(), StartsWith("events.out.tfevents."));
  const auto records = read_records(gemma::util::read_file(path));
  REQUIRE(records.size() == 3);
  CHECK(records[0] == gemma::train::file_version_event(wall_time_of(records[0])));
  CHECK(records[1] == scalar_event("train/loss", 2.5f, 10, wall_time_of(records[1])));
  CHECK(records[2] == scalar_event("train/learning_rate", 1e-4f, 10, wall_time_of(records[2])));
  CHECK(wall_time_of(records[1]) >= wall_time_of(records[0]));
  CHECK(wall_time_of(records[0]) > 1.7e9);
}

TEST_CASE("two writers in one directory get distinct files", "[train][tensorboard]") {
  const auto dir = gemma::test::scratch_dir("train_tensorboard_two");
  gemma::train::TensorBoardWriter first(dir);
  gemma::train::TensorBoardWriter second(dir);
  CHECK(first.path() != second.path());
}

TEST_CASE("TensorBoardWriter names the directory it cannot create", "[train][tensorboard]") {
  const auto dir = gemma::test::scratch_dir("train_tensorboard_bad");
  std::ofstream(dir / "file") << "x";
  CHECK_THROWS_AS(gemma::train::TensorBoardWriter(dir / "file" / "logs"), gemma::IoError);
  CHECK_THROWS_WITH(gemma::train::TensorBoardWriter(dir / "file" / "logs"),
                    Contains((dir / "file" / "logs").string()));
}
