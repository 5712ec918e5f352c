#pragma once
// huggingface_hub's cache layout, which gemma reads and writes unchanged so Python tools share it:
//   <cache>/models--org--name/refs/<revision>          the commit a branch or tag points at
//   <cache>/models--org--name/blobs/<etag>              file contents, named by the hub's ETag
//   <cache>/models--org--name/snapshots/<commit>/<file> relative symlinks into blobs/
//   <cache>/.locks/models--org--name/<etag>.lock        taken while a blob is downloaded
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace gemma::hub {

/// Creates `dir` and its parents; IoError naming it on failure.
void make_directories(const std::filesystem::path& dir);

/// "models--org--name".
std::string repo_folder_name(std::string_view repo_id);

/// A full 40-hex-digit commit hash.
bool is_commit_hash(std::string_view revision);

/// Whether `name` is a relative path whose parts are neither empty, "." nor "..": names from the
/// network or the caller become cache paths and must not lead outside their folder.
bool is_relative_name(std::string_view name);

/// The commit that `revision` stands for in the cache: itself when it is a commit hash, else the
/// content of refs/<revision>, if that exists.
std::optional<std::string> cached_commit(const std::filesystem::path& repo_dir,
                                         const std::string& revision);

void write_ref(const std::filesystem::path& repo_dir, const std::string& revision,
               const std::string& commit);

/// Whether config.json and the weights (every shard named by model.safetensors.index.json, or
/// model.safetensors) are in the snapshot.
bool snapshot_complete(const std::filesystem::path& snapshot_dir);

/// Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, replacing what was
/// there.
void link_blob(const std::filesystem::path& repo_dir, const std::string& commit,
               const std::string& file, const std::string& etag);

/// An exclusive flock(2) on .locks/<repo folder>/<etag>.lock, the lock huggingface_hub takes for
/// the same blob, so concurrent downloads by either never write one file together.
class BlobLock {
 public:
  BlobLock(const std::filesystem::path& cache_dir, const std::string& repo_folder,
           const std::string& etag);
  ~BlobLock();
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace gemma::hub
