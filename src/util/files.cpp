#include "util/files.h"

#include <fcntl.h>
#include <ftw.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "gemma/error.h"

namespace gemma::util {

namespace fs = std::filesystem;

namespace {

std::string_view file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t{1} << 30)) return fmt::format("{:.1f} GiB", bytes / double(1 << 30));
  if (bytes >= (std::uint64_t{1} << 20)) return fmt::format("{:.1f} MiB", bytes / double(1 << 20));
  return fmt::format("{} bytes", bytes);
}

std::optional<RegularFile> open_optional_regular_file(const fs::path& path,
                                                      std::uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw IoError(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    throw IoError(fmt::format("cannot stat {}: {}", path.string(), std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    throw IoError(
        fmt::format("{} is {}, not a regular file", path.string(), file_kind(info.st_mode)));
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > max_bytes) {
    throw IoError(fmt::format("{}: {} exceeds the {} limit for this file", path.string(),
                              format_bytes(size), format_bytes(max_bytes)));
  }
  // Blocking again, as regular files always behave.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return RegularFile{std::move(fd), size};
}

RegularFile open_regular_file(const fs::path& path, std::uint64_t max_bytes) {
  auto file = open_optional_regular_file(path, max_bytes);
  if (!file) throw IoError(fmt::format("cannot open {}: no such file", path.string()));
  return std::move(*file);
}

std::optional<std::string> read_optional_file(const fs::path& path, std::uint64_t max_bytes) {
  auto file = open_optional_regular_file(path, max_bytes);
  if (!file) return std::nullopt;
  // The size from fstat plus one byte, growing up to the cap plus one byte: a file that grows while
  // it is read is noticed rather than read without end.
  std::string content(file->size + 1, '\0');
  std::size_t got = 0;
  while (true) {
    if (got == content.size()) {
      if (got > max_bytes) break;
      content.resize(std::min<std::uint64_t>(std::uint64_t{got} * 2, max_bytes + 1));
    }
    const ssize_t n = ::read(file->fd.get(), content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw IoError(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > max_bytes) {
    throw IoError(fmt::format("{}: grew past the {} limit for this file while being read",
                              path.string(), format_bytes(max_bytes)));
  }
  content.resize(got);
  return content;
}

std::string read_file(const fs::path& path, std::uint64_t max_bytes) {
  auto content = read_optional_file(path, max_bytes);
  if (!content) throw IoError(fmt::format("cannot open {}: no such file", path.string()));
  return std::move(*content);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(std::ostream&)>& write) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    write(out);
    if (!out.flush()) {
      throw IoError(fmt::format("{}: cannot write ({})", tmp.string(), std::strerror(errno)));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw IoError(fmt::format("{}: cannot write ({})", path.string(), ec.message()));
  }
}

namespace {
int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }
}  // namespace

void remove_tree(const std::filesystem::path& path, std::error_code& ec) {
  ec.clear();
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) ec = std::error_code(errno, std::generic_category());
    return;
  }
  if (::nftw(path.c_str(), remove_entry, 64, FTW_DEPTH | FTW_PHYS) != 0)
    ec = std::error_code(errno, std::generic_category());
}

}  // namespace gemma::util
