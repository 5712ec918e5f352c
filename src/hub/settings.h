#pragma once
// HubOptions with every unset field resolved from huggingface_hub's environment variables and
// defaults, so gemma and Python tools agree on the cache, the endpoint and the token.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gemma/hub.h"

namespace gemma::hub {

struct HubSettings {
  std::string revision;
  std::string endpoint;  ///< no trailing '/'
  std::optional<std::string> token;
  std::filesystem::path cache_dir;
  bool offline = false;
  bool progress = false;  ///< already false when stderr is not a terminal
  std::vector<std::string> allow_patterns;
};

HubSettings resolve_settings(const HubOptions& options);

}  // namespace gemma::hub
