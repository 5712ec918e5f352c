#include "gemma/hub.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fnmatch.h>

#include <algorithm>

#include "gemma/error.h"
#include "hub/cache.h"
#include "hub/download.h"
#include "hub/settings.h"

namespace gemma {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxRepoPart = 96;

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// huggingface_hub's validate_repo_id for one part: [A-Za-z0-9_.-]{1,96} starting and ending with a
// letter, digit or '_', without "--" or "..".
bool valid_repo_part(std::string_view part) {
  const bool charset = std::all_of(part.begin(), part.end(),
                                   [](char c) { return is_word_char(c) || c == '-' || c == '.'; });
  return !part.empty() && part.size() <= kMaxRepoPart && charset && is_word_char(part.front()) &&
         is_word_char(part.back()) && part.find("--") == std::string_view::npos &&
         part.find("..") == std::string_view::npos;
}

bool is_repo_id(std::string_view id) {
  const auto slash = id.find('/');
  return slash != std::string_view::npos && valid_repo_part(id.substr(0, slash)) &&
         valid_repo_part(id.substr(slash + 1)) && !id.ends_with(".git");
}

// huggingface_hub's filter_repo_objects: fnmatch without FNM_PATHNAME, so '*' crosses '/', and a
// pattern ending in '/' means everything below that folder.
bool allowed(const std::string& file, const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(), [&](std::string pattern) {
    if (pattern.ends_with('/')) pattern += '*';
    return ::fnmatch(pattern.c_str(), file.c_str(), 0) == 0;
  });
}

// config.json goes last: a snapshot that has it has everything before it, which is what
// snapshot_complete relies on after an interrupted download.
std::vector<std::string> select_files(std::vector<std::string> files,
                                      const std::vector<std::string>& patterns) {
  std::erase_if(files, [&](const std::string& file) { return !allowed(file, patterns); });
  std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
    return std::pair(a == "config.json", a) < std::pair(b == "config.json", b);
  });
  return files;
}

fs::path download_snapshot(const hub::HubSettings& settings, const std::string& repo_id) {
  const hub::RepoRevision revision = hub::fetch_repo_revision(settings, repo_id);
  const auto files = select_files(revision.files, settings.allow_patterns);
  if (files.empty())
    throw IoError(fmt::format("hub repo '{}' at revision '{}' has no files matching {}", repo_id,
                              settings.revision, settings.allow_patterns));
  for (const auto& file : files) hub::download_file(settings, repo_id, revision.commit, file);
  const fs::path repo_dir = settings.cache_dir / hub::repo_folder_name(repo_id);
  if (settings.revision != revision.commit)
    hub::write_ref(repo_dir, settings.revision, revision.commit);
  return repo_dir / "snapshots" / revision.commit;
}

}  // namespace

const std::vector<std::string>& default_allow_patterns() {
  static const std::vector<std::string> patterns{"*.json", "*.safetensors", "tokenizer.model",
                                                 "*.jinja", "*.txt"};
  return patterns;
}

fs::path resolve_model(std::string_view id_or_path, const HubOptions& options) {
  if (id_or_path.empty())
    throw InvalidArgumentError("model: the directory or hub repo id is empty");
  std::error_code ec;
  const fs::file_status status = fs::status(fs::path(id_or_path), ec);
  if (fs::is_directory(status)) return fs::path(id_or_path);
  if (fs::exists(status))
    throw InvalidArgumentError(
        fmt::format("model '{}' is a file, not a model directory", id_or_path));
  if (!is_repo_id(id_or_path))
    throw InvalidArgumentError(fmt::format(
        "model '{}' is neither a local directory nor a hub repo id 'org/name' (each part 1-{} "
        "letters, digits, '-', '_' or '.', not starting or ending with '-' or '.', no '--' or "
        "'..')",
        id_or_path, kMaxRepoPart));
  const std::string repo_id(id_or_path);
  const hub::HubSettings settings = hub::resolve_settings(options);
  if (!hub::is_relative_name(settings.revision))
    throw InvalidArgumentError(
        fmt::format("hub revision '{}' is not a branch, tag or commit name", settings.revision));
  const fs::path repo_dir = settings.cache_dir / hub::repo_folder_name(repo_id);
  if (const auto commit = hub::cached_commit(repo_dir, settings.revision)) {
    const fs::path snapshot = repo_dir / "snapshots" / *commit;
    if (hub::snapshot_complete(snapshot)) return snapshot;
  }
  if (settings.offline)
    throw IoError(fmt::format(
        "hub repo '{}' at revision '{}' is not (completely) in the cache {} and offline mode is on "
        "(HubOptions::offline, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE)",
        repo_id, settings.revision, settings.cache_dir.string()));
  return download_snapshot(settings, repo_id);
}

}  // namespace gemma
