#pragma once
// Locations of committed test data, baked in by tests/CMakeLists.txt.
#include <filesystem>

namespace gemma::test {

inline std::filesystem::path data_dir() { return GEMMA_TEST_DATA_DIR; }
inline std::filesystem::path tiny_model_dir() { return GEMMA_TINY_MODEL_DIR; }

// A fresh empty directory under the build tree for files a test writes.
std::filesystem::path scratch_dir(const std::string& name);

}  // namespace gemma::test
