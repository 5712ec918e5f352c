#include "hub/progress.h"

#include <fmt/format.h>

#include <algorithm>

namespace gemma::hub {

namespace {

constexpr std::size_t kBarWidth = 30;
constexpr std::size_t kNameWidth = 40;

std::string format_size(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t{1} << 30)) return fmt::format("{:.2f} GiB", bytes / double(1 << 30));
  if (bytes >= (std::uint64_t{1} << 20)) return fmt::format("{:.1f} MiB", bytes / double(1 << 20));
  if (bytes >= 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{} B", bytes);
}

}  // namespace

ProgressLine::ProgressLine(std::FILE* out, std::string name, std::uint64_t total)
    : out_(out), name_(std::move(name)), total_(total) {
  // Long paths keep their end, which names the file.
  if (name_.size() > kNameWidth) name_ = "..." + name_.substr(name_.size() - (kNameWidth - 3));
}

void ProgressLine::update(std::uint64_t done) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(done);
}

void ProgressLine::finish(std::uint64_t done) {
  draw(done);
  if (out_ != nullptr) std::fputc('\n', out_);
}

void ProgressLine::draw(std::uint64_t done) {
  if (out_ == nullptr) return;
  if (total_ == 0) {
    fmt::print(out_, "\r{:<{}}  {}", name_, kNameWidth, format_size(done));
  } else {
    const double fraction = std::min(1.0, double(done) / double(total_));
    const auto filled = static_cast<std::size_t>(fraction * kBarWidth);
    fmt::print(out_, "\r{:<{}}  [{}{}] {:3.0f}%  {} / {}", name_, kNameWidth,
               std::string(filled, '#'), std::string(kBarWidth - filled, '.'), fraction * 100,
               format_size(done), format_size(total_));
  }
  std::fflush(out_);
}

}  // namespace gemma::hub
