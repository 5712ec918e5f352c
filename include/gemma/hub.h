#pragma once
/// Model directories by Hugging Face hub repo id ("google/gemma-3n-E2B-it"), downloaded into and
/// read from huggingface_hub's own cache layout, so Python tools and gemma share one copy of the
/// weights. docs/hub.md describes the resolution order, the environment variables and the cache
/// layout.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/export.h"

namespace gemma {

/// How `resolve_model` finds and downloads a hub repository. Unset fields fall back to
/// huggingface_hub's environment variables, then to its defaults.
struct HubOptions {
  /// Branch, tag or 40-hex commit.
  std::string revision = "main";
  /// Access token for gated and private repos; else `HF_TOKEN`, else the file `HF_TOKEN_PATH`
  /// (default `$HF_HOME/token`, where `huggingface-cli login` writes it).
  std::optional<std::string> token = {};
  /// Cache root; else `HF_HUB_CACHE`, else `$HF_HOME/hub`. `HF_HOME` defaults to
  /// `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
  std::optional<std::filesystem::path> cache_dir = {};
  /// Hub URL; else `HF_ENDPOINT`, else https://huggingface.co.
  std::optional<std::string> endpoint = {};
  /// Never touch the network; also on when `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is
  /// 1/ON/YES/TRUE.
  bool offline = false;
  /// A progress line per file on stderr, drawn only when stderr is a terminal.
  bool progress = true;
  /// Shell-style patterns (fnmatch; `*` also matches '/') selecting the repo files to download; a
  /// pattern ending in '/' selects a folder. Empty: the default set below.
  std::vector<std::string> allow_patterns = {};
};

/// What `resolve_model` downloads when `HubOptions::allow_patterns` is empty: configs, weights,
/// tokenizer, chat templates and text files.
GEMMA_API const std::vector<std::string>& default_allow_patterns();

/// The model directory for `id_or_path`. An existing local directory is returned as is. Otherwise
/// it must be a hub repo id `org/name`: a complete cached snapshot of `options.revision`
/// (config.json and the weights, every shard of a sharded checkpoint) is returned without network
/// access; else the allowed files are downloaded (resuming partial downloads) into the cache and
/// the snapshot directory is returned. Throws InvalidArgumentError for an id that is neither a
/// directory nor a valid repo id, and IoError when the repo, revision or a file is not found (404),
/// needs a token (401/403), is not cached in offline mode, or a transfer fails; messages name the
/// repo, revision and file.
GEMMA_API std::filesystem::path resolve_model(std::string_view id_or_path,
                                              const HubOptions& options = {});

}  // namespace gemma
