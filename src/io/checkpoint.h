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
// Throws WeightError naming the index when it is malformed or names no tensor.
std::map<std::string, std::string> read_weight_map(const std::filesystem::path& index_path);
// The same for the index's text; `source` names it in errors.
std::map<std::string, std::string> parse_weight_map(std::string_view text, std::string_view source);

class Checkpoint {
 public:
  struct Entry {
    const SafetensorsFile* file;
    const TensorInfo* info;
  };

  // `path` is a model directory, an index file, or a single .safetensors file.
  static Checkpoint open(const std::filesystem::path& path);

  // What the checkpoint was opened from (the index, or the one .safetensors file), for messages.
  const std::string& source() const { return source_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // All tensors by name (sorted).
  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }
  const Entry* find(std::string_view name) const;
  std::uint64_t total_bytes() const;

 private:
  void add_file(std::unique_ptr<SafetensorsFile> file);
  std::string source_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace gemma::io
