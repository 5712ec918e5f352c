#pragma once
// A Hugging Face checkpoint: one `model.safetensors`, or shards listed by
// `model.safetensors.index.json`. Every shard is opened and validated, and the index is checked
// against the shards in both directions.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/safetensors.h"

namespace gemma::io {

// An index's weight_map: tensor name -> shard file name, each a bare file name beside the index.
// Throws WeightError naming the index when it is malformed.
std::map<std::string, std::string> read_weight_map(const std::filesystem::path& index_path);

class Checkpoint {
 public:
  struct Entry {
    const SafetensorsFile* file;
    const TensorInfo* info;
  };

  // `path` is a model directory, an index file, or a single .safetensors file.
  static Checkpoint open(const std::filesystem::path& path);

  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // All tensors by name (sorted).
  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }
  const Entry* find(std::string_view name) const;
  std::uint64_t total_bytes() const;

 private:
  void add_file(std::unique_ptr<SafetensorsFile> file);
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace gemma::io
