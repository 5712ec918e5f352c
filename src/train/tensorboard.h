#pragma once
// TensorBoard event files without TensorFlow: TFRecord framing and the Event/Summary protos,
// hand-encoded byte for byte as tensorboard's Python writer (and torch's SummaryWriter) writes
// them.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/files.h"

namespace gemma::train {

/// CRC-32C (Castagnoli) of `bytes`, masked as TFRecord stores it.
uint32_t masked_crc32c(std::string_view bytes);

/// One TFRecord: uint64 little-endian length, masked CRC of those 8 bytes, `payload`, masked CRC
/// of the payload.
std::string tfrecord(std::string_view payload);

/// A serialized tensorboard Event holding one scalar (Summary.Value.simple_value) for `tag`.
std::string scalar_event(const std::string& tag, float value, int64_t step, double wall_time);

/// The serialized Event that opens every event file: file_version "brain.Event:2".
std::string file_version_event(double wall_time);

/// Appends scalars to a new event file in `log_dir`, which TensorBoard reads live: every record is
/// written when added.
class TensorBoardWriter {
 public:
  /// Creates `log_dir` and events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n> in it (the name
  /// tensorboard's EventFileWriter gives), starting with the file_version record. IoError naming
  /// the path on failure.
  explicit TensorBoardWriter(const std::filesystem::path& log_dir);

  /// Records `value` (stored as float, as TensorBoard does) for `tag` at `step`, stamped now.
  void add_scalar(const std::string& tag, double value, int64_t step);

  /// Makes what was added durable (fsync).
  void flush();

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(std::string_view payload);

  std::filesystem::path path_;
  util::Fd fd_;
};

}  // namespace gemma::train
