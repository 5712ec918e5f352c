#include "hub/settings.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "util/files.h"

namespace gemma::hub {

namespace {

namespace fs = std::filesystem;

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// huggingface_hub expands '~' in its path variables.
fs::path expand_home(const std::string& path) {
  if (path != "~" && !path.starts_with("~/")) return path;
  return fs::path(env("HOME").value_or("")) / path.substr(std::min<std::size_t>(path.size(), 2));
}

fs::path hf_home() {
  if (auto home = env("HF_HOME")) return expand_home(*home);
  if (auto xdg = env("XDG_CACHE_HOME")) return expand_home(*xdg) / "huggingface";
  return expand_home("~/.cache/huggingface");
}

std::string trim(std::string text) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  text.erase(std::find_if_not(text.rbegin(), text.rend(), space).base(), text.end());
  text.erase(text.begin(), std::find_if_not(text.begin(), text.end(), space));
  return text;
}

std::optional<std::string> token(const HubOptions& options) {
  if (options.token) return options.token;
  if (auto value = env("HF_TOKEN")) return trim(*value);
  const fs::path file =
      env("HF_TOKEN_PATH") ? expand_home(*env("HF_TOKEN_PATH")) : hf_home() / "token";
  const auto stored = util::read_optional_file(file);
  const std::string value = stored ? trim(*stored) : std::string();
  return value.empty() ? std::nullopt : std::optional(value);
}

fs::path cache_dir(const HubOptions& options) {
  if (options.cache_dir) return *options.cache_dir;
  if (auto dir = env("HF_HUB_CACHE")) return expand_home(*dir);
  if (auto dir = env("HUGGINGFACE_HUB_CACHE")) return expand_home(*dir);  // the legacy name
  return hf_home() / "hub";
}

// huggingface_hub reads `HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE` as 1/ON/YES/TRUE, any case.
bool offline_by_env() {
  auto value = env("HF_HUB_OFFLINE");
  if (!value) value = env("TRANSFORMERS_OFFLINE");
  if (!value) return false;
  std::string upper = *value;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return upper == "1" || upper == "ON" || upper == "YES" || upper == "TRUE";
}

std::string endpoint(const HubOptions& options) {
  std::string url =
      options.endpoint.value_or(env("HF_ENDPOINT").value_or("https://huggingface.co"));
  while (url.ends_with('/')) url.pop_back();
  return url;
}

}  // namespace

HubSettings resolve_settings(const HubOptions& options) {
  HubSettings settings;
  settings.revision = options.revision;
  settings.endpoint = endpoint(options);
  settings.cache_dir = cache_dir(options);
  settings.offline = options.offline || offline_by_env();
  settings.token = settings.offline ? std::nullopt : token(options);
  settings.progress = options.progress && ::isatty(STDERR_FILENO) == 1;
  settings.allow_patterns =
      options.allow_patterns.empty() ? default_allow_patterns() : options.allow_patterns;
  return settings;
}

}  // namespace gemma::hub
