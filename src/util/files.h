#pragma once
// Whole-file reads for the config, index and tokenizer parsers, with IoErrors naming the path.
#include <filesystem>
#include <optional>
#include <string>

namespace gemma::util {

// The file's bytes, or nullopt if it does not exist. A directory or a failed read is an IoError.
std::optional<std::string> read_optional_file(const std::filesystem::path& path);

// The file's bytes; a missing file is an IoError too.
std::string read_file(const std::filesystem::path& path);

}  // namespace gemma::util
