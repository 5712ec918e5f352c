#pragma once
// Downloads from the hub into huggingface_hub's cache layout (hub/cache.h): the file list of a
// revision from the API, then each file through /resolve/, resumably.
#include <filesystem>
#include <string>
#include <vector>

#include "hub/settings.h"

namespace gemma::hub {

struct RepoRevision {
  std::string commit;
  std::vector<std::string> files;  ///< every file of the repo at that commit
};

/// GET {endpoint}/api/models/{repo_id}/revision/{revision}.
RepoRevision fetch_repo_revision(const HubSettings& settings, const std::string& repo_id);

/// Makes snapshots/<commit>/<file> in the repo's cache folder, downloading its blob unless the
/// cache holds it already; a partial blob left by an earlier attempt is resumed with a Range
/// request.
void download_file(const HubSettings& settings, const std::string& repo_id,
                   const std::string& commit, const std::string& file);

}  // namespace gemma::hub
