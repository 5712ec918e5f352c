#include "util/files.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "gemma/error.h"

namespace gemma::util {

namespace fs = std::filesystem;

std::optional<std::string> read_optional_file(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) return std::nullopt;
  if (ec) throw IoError(fmt::format("cannot stat {}: {}", path.string(), ec.message()));
  if (fs::is_directory(status)) throw IoError(fmt::format("{} is a directory", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw IoError(fmt::format("cannot read {}", path.string()));
  return std::move(content).str();
}

std::string read_file(const fs::path& path) {
  auto content = read_optional_file(path);
  if (!content) throw IoError(fmt::format("cannot open {}: no such file", path.string()));
  return std::move(*content);
}

}  // namespace gemma::util
