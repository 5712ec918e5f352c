#include "hub/cache.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "gemma/error.h"
#include "io/checkpoint.h"
#include "util/files.h"

namespace gemma::hub {

namespace fs = std::filesystem;

void make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
}

std::string repo_folder_name(std::string_view repo_id) {
  std::string name = "models--";
  for (const char c : repo_id) name += c == '/' ? std::string("--") : std::string(1, c);
  return name;
}

bool is_commit_hash(std::string_view revision) {
  return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_relative_name(std::string_view name) {
  const fs::path path(name);
  const bool bad_part = std::any_of(path.begin(), path.end(), [](const fs::path& part) {
    return part.empty() || part == "." || part == "..";
  });
  return !name.empty() && !path.is_absolute() && !bad_part && !name.ends_with('/') &&
         name.find("//") == std::string_view::npos;
}

std::optional<std::string> cached_commit(const fs::path& repo_dir, const std::string& revision) {
  if (is_commit_hash(revision)) return revision;
  const auto ref = util::read_optional_file(repo_dir / "refs" / revision);
  if (!ref) return std::nullopt;
  std::string commit = *ref;
  while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back())))
    commit.pop_back();
  return is_commit_hash(commit) ? std::optional(commit) : std::nullopt;
}

void write_ref(const fs::path& repo_dir, const std::string& revision, const std::string& commit) {
  const fs::path ref = repo_dir / "refs" / revision;
  make_directories(ref.parent_path());
  std::ofstream(ref, std::ios::binary | std::ios::trunc) << commit;
  if (util::read_optional_file(ref) != commit)
    throw IoError(fmt::format("cannot write {}", ref.string()));
}

bool snapshot_complete(const fs::path& snapshot_dir) {
  // fs::exists follows the symlinks, so a link to a missing blob counts as missing.
  if (!fs::exists(snapshot_dir / "config.json")) return false;
  const fs::path index = snapshot_dir / "model.safetensors.index.json";
  if (!fs::exists(index)) return fs::exists(snapshot_dir / "model.safetensors");
  const auto weight_map = io::read_weight_map(index);
  return std::all_of(weight_map.begin(), weight_map.end(),
                     [&](const auto& entry) { return fs::exists(snapshot_dir / entry.second); });
}

void link_blob(const fs::path& repo_dir, const std::string& commit, const std::string& file,
               const std::string& etag) {
  const fs::path link = repo_dir / "snapshots" / commit / file;
  make_directories(link.parent_path());
  const fs::path target = (repo_dir / "blobs" / etag).lexically_relative(link.parent_path());
  std::error_code ec;
  fs::remove(link, ec);
  fs::create_symlink(target, link, ec);
  if (ec)
    throw IoError(
        fmt::format("cannot link {} to {}: {}", link.string(), target.string(), ec.message()));
}

BlobLock::BlobLock(const fs::path& cache_dir, const std::string& repo_folder,
                   const std::string& etag) {
  const fs::path path = cache_dir / ".locks" / repo_folder / (etag + ".lock");
  make_directories(path.parent_path());
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw IoError(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  int rc;
  while ((rc = ::flock(fd_, LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int error = errno;
    ::close(fd_);
    throw IoError(fmt::format("cannot lock {}: {}", path.string(), std::strerror(error)));
  }
}

BlobLock::~BlobLock() { ::close(fd_); }  // closing releases the lock

}  // namespace gemma::hub
