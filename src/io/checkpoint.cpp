#include "io/checkpoint.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gemma/error.h"
#include "util/files.h"
#include "util/json.h"

namespace gemma::io {
namespace {

namespace fs = std::filesystem;
constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

}  // namespace

std::map<std::string, std::string> read_weight_map(const fs::path& index_path) {
  return parse_weight_map(util::read_file(index_path), index_path.string());
}

std::map<std::string, std::string> parse_weight_map(std::string_view text,
                                                    std::string_view source) {
  const auto index = util::parse_json<WeightError>(text, source);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw WeightError(fmt::format("{}: expected an object with a 'weight_map' object", source));
  }
  std::map<std::string, std::string> map;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) {
      throw WeightError(fmt::format("{}: weight_map['{}'] must be a file name, got {}", source,
                                    name, shard.dump()));
    }
    auto file = shard.get<std::string>();
    // A shard name is a file beside the index; anything else could read outside the model dir.
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
      throw WeightError(
          fmt::format("{}: weight_map['{}'] = '{}' is not a file name in the "
                      "model directory",
                      source, name, file));
    }
    map.emplace(name, std::move(file));
  }
  if (map.empty()) throw WeightError(fmt::format("{}: weight_map names no tensors", source));
  return map;
}

Checkpoint Checkpoint::open(const fs::path& path) {
  Checkpoint ckpt;
  fs::path index_path;
  if (fs::is_directory(path)) {
    if (fs::exists(path / kIndexName)) {
      index_path = path / kIndexName;
    } else if (fs::exists(path / kSingleName)) {
      ckpt.source_ = (path / kSingleName).string();
      ckpt.add_file(std::make_unique<SafetensorsFile>(SafetensorsFile::open(path / kSingleName)));
      return ckpt;
    } else {
      throw IoError(
          fmt::format("{}: no {} or {} in this directory", path.string(), kSingleName, kIndexName));
    }
  } else if (path.extension() == ".json") {
    index_path = path;
  } else {
    ckpt.source_ = path.string();
    ckpt.add_file(std::make_unique<SafetensorsFile>(SafetensorsFile::open(path)));
    return ckpt;
  }
  ckpt.source_ = index_path.string();

  const auto weight_map = read_weight_map(index_path);
  const auto dir = index_path.parent_path();
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, shard] : weight_map) by_shard[shard].push_back(name);
  for (const auto& [shard, names] : by_shard) {
    const auto shard_path = dir / shard;
    if (!fs::exists(shard_path)) {
      throw WeightError(
          fmt::format("{}: names shard '{}' (for '{}' and {} more), which does not "
                      "exist",
                      index_path.string(), shard, names.front(), names.size() - 1));
    }
    auto file = std::make_unique<SafetensorsFile>(SafetensorsFile::open(shard_path));
    for (const auto& name : names) {
      if (!file->find(name)) {
        throw WeightError(
            fmt::format("{}: says tensor '{}' is in '{}', but that shard has no "
                        "such tensor",
                        index_path.string(), name, shard));
      }
    }
    for (const auto& t : file->tensors()) {
      auto it = weight_map.find(t.name);
      if (it == weight_map.end() || it->second != shard) {
        throw WeightError(fmt::format(
            "{}: shard '{}' holds tensor '{}', which the index {}", index_path.string(), shard,
            t.name, it == weight_map.end() ? "omits" : "assigns to '" + it->second + "'"));
      }
    }
    ckpt.add_file(std::move(file));
  }
  return ckpt;
}

void Checkpoint::add_file(std::unique_ptr<SafetensorsFile> file) {
  for (const auto& t : file->tensors()) {
    auto [it, inserted] = entries_.emplace(t.name, Entry{file.get(), &t});
    if (!inserted) {
      throw WeightError(fmt::format("tensor '{}' appears in both {} and {}", t.name,
                                    it->second.file->source(), file->source()));
    }
  }
  files_.push_back(std::move(file));
}

const Checkpoint::Entry* Checkpoint::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::uint64_t Checkpoint::total_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [name, e] : entries_) total += e.info->nbytes();
  return total;
}

}  // namespace gemma::io
