#include "support/paths.h"

#include <unistd.h>

#include <string>

#include "util/files.h"

namespace gemma::test {

std::filesystem::path scratch_dir(const std::string& name) {
  // Per process, so tests that CTest runs in parallel never share a directory.
  auto dir = std::filesystem::path(GEMMA_TEST_SCRATCH_DIR) / (name + "-" + std::to_string(::getpid()));
  std::error_code ec;
  util::remove_tree(dir, ec);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace gemma::test
