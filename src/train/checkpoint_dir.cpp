#include "train/checkpoint_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "gemma/error.h"
#include "util/files.h"

namespace gemma::train {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kCheckpointPrefix = "checkpoint-";
constexpr std::string_view kTmpInfix = ".tmp-";
constexpr std::string_view kOldInfix = ".old-";

[[noreturn]] void fail(std::string_view action, const fs::path& path, const std::string& problem) {
  throw IoError(fmt::format("cannot {} {}: {}", action, path.string(), problem));
}

fs::path sibling(const fs::path& dir, std::string_view infix) {
  return dir.parent_path() / fmt::format("{}{}{}", dir.filename().string(), infix, ::getpid());
}

void remove_tree(const fs::path& path) {
  std::error_code ec;
  util::remove_tree(path, ec);
  if (ec) fail("remove", path, ec.message());
}

void rename_path(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) fail("rename", from, fmt::format("to {}: {}", to.string(), ec.message()));
}

void fsync_path(const fs::path& path, int flags) {
  const util::Fd fd(::open(path.c_str(), flags | O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail("open", path, std::strerror(errno));
  if (::fsync(fd.get()) != 0) fail("fsync", path, std::strerror(errno));
}

// Files first, then each directory after its entries, so that the renames that follow only ever
// publish data already on disk.
void fsync_tree(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(status)) {
      fsync_tree(it->path());
    } else if (fs::is_regular_file(status)) {
      fsync_path(it->path(), 0);
    }
  }
  if (ec) fail("list", dir, ec.message());
  fsync_path(dir, O_DIRECTORY);
}

// "<digits>" as a number; nullopt for anything else, or a number beyond int64.
std::optional<int64_t> parse_step(std::string_view digits) {
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// The step of "checkpoint-<digits>".
std::optional<int64_t> checkpoint_step(std::string_view name) {
  if (!name.starts_with(kCheckpointPrefix)) return std::nullopt;
  return parse_step(name.substr(kCheckpointPrefix.size()));
}

// The entries of `dir` (none if it does not exist), as (name, is a directory).
std::vector<std::pair<std::string, bool>> list_entries(const fs::path& dir) {
  std::vector<std::pair<std::string, bool>> entries;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    entries.emplace_back(it->path().filename().string(), it->is_directory(type_ec));
  }
  if (ec) fail("list", dir, ec.message());
  return entries;
}

// A leftover "checkpoint-<n><infix><pid>": the checkpoint's name, if `name` is one.
std::optional<std::string> leftover_of(std::string_view name, std::string_view infix) {
  const auto at = name.rfind(infix);
  if (at == std::string_view::npos || !parse_step(name.substr(at + infix.size()))) {
    return std::nullopt;
  }
  const std::string_view checkpoint = name.substr(0, at);
  if (!checkpoint_step(checkpoint)) return std::nullopt;
  return std::string(checkpoint);
}

bool same_checkpoint(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return a.lexically_normal() == b.lexically_normal() || fs::equivalent(a, b, ec);
}

}  // namespace

void write_directory_atomically(const fs::path& target,
                                const std::function<void(const fs::path& tmp)>& fill) {
  // "out/checkpoint-5/" names the same directory, but has no file name to derive siblings from.
  fs::path final_dir = target.lexically_normal();
  if (!final_dir.has_filename()) final_dir = final_dir.parent_path();
  const fs::path tmp = sibling(final_dir, kTmpInfix);
  // A leftover of an earlier process that had the same pid.
  remove_tree(tmp);
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) fail("create", tmp, ec.message());
  try {
    fill(tmp);
    fsync_tree(tmp);
  } catch (...) {
    util::remove_tree(tmp, ec);
    throw;
  }
  const fs::path old = sibling(final_dir, kOldInfix);
  const bool replacing = fs::exists(final_dir, ec);
  if (replacing) {
    remove_tree(old);
    rename_path(final_dir, old);
  }
  rename_path(tmp, final_dir);
  fsync_path(final_dir.has_parent_path() ? final_dir.parent_path() : fs::path("."), O_DIRECTORY);
  if (replacing) remove_tree(old);
}

std::vector<fs::path> list_checkpoints(const fs::path& output_dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& [name, is_directory] : list_entries(output_dir)) {
    const auto step = checkpoint_step(name);
    if (step && is_directory) found.emplace_back(*step, output_dir / name);
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> sorted;
  sorted.reserve(found.size());
  for (auto& [step, path] : found) sorted.push_back(std::move(path));
  return sorted;
}

std::optional<fs::path> latest_checkpoint(const fs::path& output_dir) {
  auto checkpoints = list_checkpoints(output_dir);
  if (checkpoints.empty()) return std::nullopt;
  return std::move(checkpoints.back());
}

void remove_stale_temporaries(const fs::path& output_dir) {
  const auto entries = list_entries(output_dir);
  for (const auto& [name, is_directory] : entries) {
    const auto checkpoint = leftover_of(name, kOldInfix);
    if (!checkpoint || !is_directory) continue;
    std::error_code ec;
    if (fs::exists(output_dir / *checkpoint, ec)) {
      remove_tree(output_dir / name);
    } else {
      rename_path(output_dir / name, output_dir / *checkpoint);
    }
  }
  for (const auto& [name, is_directory] : entries) {
    if (is_directory && leftover_of(name, kTmpInfix)) remove_tree(output_dir / name);
  }
}

void rotate_checkpoints(const fs::path& output_dir, int64_t save_total_limit,
                        const std::optional<fs::path>& best_checkpoint) {
  if (save_total_limit <= 0) return;
  const auto checkpoints = list_checkpoints(output_dir);
  const auto count = static_cast<int64_t>(checkpoints.size());
  if (count <= save_total_limit) return;
  const fs::path& newest = checkpoints.back();
  const auto is_protected = [&](const fs::path& checkpoint) {
    return checkpoint == newest ||
           (best_checkpoint && same_checkpoint(checkpoint, *best_checkpoint));
  };
  // transformers counts the protected set {newest, best}: a best that is not the newest (even one
  // no longer on disk) raises the number kept to 2.
  const int64_t protected_count =
      best_checkpoint && !same_checkpoint(newest, *best_checkpoint) ? 2 : 1;
  const int64_t keep = std::max(save_total_limit, protected_count);
  int64_t remaining = count;
  for (const auto& checkpoint : checkpoints) {
    if (remaining <= keep) break;
    if (is_protected(checkpoint)) continue;
    std::error_code ignored;
    util::remove_tree(checkpoint, ignored);
    --remaining;
  }
}

}  // namespace gemma::train
