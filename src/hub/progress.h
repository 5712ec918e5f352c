#pragma once
// The download progress line: "file  [#####.....]  1.2 MiB / 4.0 MiB", redrawn in place.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace gemma::hub {

class ProgressLine {
 public:
  /// Draws on `out`, or nothing when `out` is null. `total` 0 means unknown.
  ProgressLine(std::FILE* out, std::string name, std::uint64_t total);
  /// Redraws with `done` bytes, at most ten times a second.
  void update(std::uint64_t done);
  /// Draws `done` and ends the line.
  void finish(std::uint64_t done);

 private:
  void draw(std::uint64_t done);
  std::FILE* out_;
  std::string name_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace gemma::hub
