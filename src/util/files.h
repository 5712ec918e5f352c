#pragma once
// Whole-file reads for configs, indexes, tokenizers, templates and media, with IoErrors naming the
// path. Every file gemma reads must be a regular file under a size cap: a FIFO or a character
// device (/dev/zero) would otherwise block the open or never end (docs/limits.md).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace gemma::util {

/// Caps on files read whole. JSON configs (config.json, the index, tokenizer_config.json, ...) and
/// chat templates are small in every real checkpoint (tokenizer_config.json of Gemma 3n: 1.2 MB).
inline constexpr std::uint64_t kMaxConfigFileBytes = std::uint64_t{64} << 20;
/// tokenizer.model (4.7 MB for Gemma 3n) and tokenizer.json (33 MB).
inline constexpr std::uint64_t kMaxTokenizerFileBytes = std::uint64_t{256} << 20;

/// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const noexcept { return fd_; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

/// An open regular file and its size.
struct RegularFile {
  Fd fd;
  std::uint64_t size = 0;
};

/// Opens `path` for reading without blocking (a FIFO with no writer opens at once) and checks that
/// it is a regular file of at most `max_bytes`. nullopt if it does not exist; IoError naming the
/// path for anything else: a directory, FIFO, socket or device, a file over the cap, no permission.
std::optional<RegularFile> open_optional_regular_file(const std::filesystem::path& path,
                                                      std::uint64_t max_bytes);

/// open_optional_regular_file(), with a missing file an IoError too.
RegularFile open_regular_file(const std::filesystem::path& path, std::uint64_t max_bytes);

/// The file's bytes, or nullopt if it does not exist (see open_optional_regular_file()).
std::optional<std::string> read_optional_file(const std::filesystem::path& path,
                                              std::uint64_t max_bytes = kMaxConfigFileBytes);

/// The file's bytes; a missing file is an IoError too.
std::string read_file(const std::filesystem::path& path,
                      std::uint64_t max_bytes = kMaxConfigFileBytes);

/// Writes through `write` into a temporary sibling and renames it over `path`: a reader never sees
/// half a file. IoError naming the path on failure.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(std::ostream&)>& write);
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

/// Removes `path` and everything below it (symlinks themselves, never their targets); a missing
/// path is no error. std::filesystem::remove_all is not used: the torch wheel's libtorch.so exports
/// its own copy of that libstdc++ function, which crashes when it wins symbol resolution.
void remove_tree(const std::filesystem::path& path, std::error_code& ec);

/// "3 bytes", "12.5 MiB", "2.0 GiB": sizes in messages.
std::string format_bytes(std::uint64_t bytes);

}  // namespace gemma::util
