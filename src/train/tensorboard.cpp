#include "train/tensorboard.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "gemma/error.h"

namespace gemma::train {

namespace {

constexpr uint32_t kCastagnoliReflected = 0x82F63B78;

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kCastagnoliReflected : 0);
    table[i] = crc;
  }
  return table;
}

constexpr auto kCrc32cTable = make_crc32c_table();

uint32_t crc32c(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFF;
  for (const char c : bytes) {
    crc = (crc >> 8) ^ kCrc32cTable[(crc ^ static_cast<unsigned char>(c)) & 0xFF];
  }
  return ~crc;
}

// Protobuf wire format: the few field kinds Event and Summary need.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

void put_key(std::string& out, uint32_t field, WireType type) {
  put_varint(out, field << 3 | type);
}

template <typename T>
void put_little_endian(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

// proto3 leaves scalar fields at their default (0) out of the encoding; Event is proto3.
void put_double(std::string& out, uint32_t field, double value) {
  if (value == 0.0) return;
  put_key(out, field, kFixed64);
  put_little_endian(out, std::bit_cast<uint64_t>(value));
}

void put_int64(std::string& out, uint32_t field, int64_t value) {
  if (value == 0) return;
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(value));
}

// Event fields.
constexpr uint32_t kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5;
// Summary.value, and Summary.Value's tag and simple_value.
constexpr uint32_t kSummaryValue = 1, kTag = 1, kSimpleValue = 2;

std::string summary_value(const std::string& tag, float value) {
  std::string out;
  if (!tag.empty()) put_bytes(out, kTag, tag);
  // A member of the `value` oneof: written even when 0.
  put_key(out, kSimpleValue, kFixed32);
  put_little_endian(out, std::bit_cast<uint32_t>(value));
  return out;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

// tensorboard's _global_uid: distinct names for writers opened in the same second.
std::atomic<int> next_writer_id{0};

std::filesystem::path event_file_name(const std::filesystem::path& log_dir, double wall_time) {
  return log_dir / fmt::format("events.out.tfevents.{:010}.{}.{}.{}",
                               static_cast<int64_t>(wall_time), hostname(), ::getpid(),
                               next_writer_id.fetch_add(1));
}

}  // namespace

uint32_t masked_crc32c(std::string_view bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
}

std::string tfrecord(std::string_view payload) {
  std::string length;
  put_little_endian(length, static_cast<uint64_t>(payload.size()));
  std::string out = length;
  put_little_endian(out, masked_crc32c(length));
  out += payload;
  put_little_endian(out, masked_crc32c(payload));
  return out;
}

std::string scalar_event(const std::string& tag, float value, int64_t step, double wall_time) {
  std::string summary;
  put_bytes(summary, kSummaryValue, summary_value(tag, value));
  std::string out;
  put_double(out, kWallTime, wall_time);
  put_int64(out, kStep, step);
  put_bytes(out, kSummary, summary);
  return out;
}

std::string file_version_event(double wall_time) {
  std::string out;
  put_double(out, kWallTime, wall_time);
  put_bytes(out, kFileVersion, "brain.Event:2");
  return out;
}

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& log_dir) {
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) {
    throw IoError(fmt::format("cannot create TensorBoard log directory {}: {}", log_dir.string(),
                              ec.message()));
  }
  const double wall_time = now_seconds();
  path_ = event_file_name(log_dir, wall_time);
  fd_ = util::Fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd_.get() < 0) {
    throw IoError(fmt::format("cannot create {}: {}", path_.string(), std::strerror(errno)));
  }
  write_record(file_version_event(wall_time));
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  write_record(scalar_event(tag, static_cast<float>(value), step, now_seconds()));
}

void TensorBoardWriter::flush() {
  if (::fsync(fd_.get()) != 0) {
    throw IoError(fmt::format("cannot flush {}: {}", path_.string(), std::strerror(errno)));
  }
}

void TensorBoardWriter::write_record(std::string_view payload) {
  const std::string record = tfrecord(payload);
  std::string_view left = record;
  while (!left.empty()) {
    const ssize_t n = ::write(fd_.get(), left.data(), left.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw IoError(fmt::format("cannot write {}: {}", path_.string(), std::strerror(errno)));
    }
    left.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace gemma::train
