#pragma once
// safetensors reader (mmap, zero-copy, fully validated) and writer. Torch-free on purpose: it builds in
// seconds and runs under sanitizers; src/io/tensor.h turns entries into at::Tensor views.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gemma::io {

// Declaration order is safetensors' own Dtype order: the writer sorts by it (descending) exactly as
// the Rust crate does, so files we write are byte-identical to Python's.
enum class Dtype : std::uint8_t {
  kBool, kF4, kF6_E2M3, kF6_E3M2, kU8, kI8, kF8_E5M2, kF8_E4M3, kF8_E8M0, kF8_E4M3FNUZ,
  kF8_E5M2FNUZ, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kC64, kF64, kI64, kU64,
};

std::string_view dtype_name(Dtype dtype);
std::optional<Dtype> parse_dtype(std::string_view name);
std::size_t dtype_bits(Dtype dtype);

struct TensorInfo {
  std::string name;
  Dtype dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte offsets relative to the start of the data section
  std::uint64_t end = 0;

  std::uint64_t numel() const;
  std::uint64_t nbytes() const { return end - begin; }
};

// A read-only view of a whole file in memory. Mapped copy-on-write, so an accidental in-place op on a
// tensor view changes a private page instead of faulting.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> map(const std::filesystem::path& path);
  static std::shared_ptr<MappedFile> from_bytes(std::string bytes);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  MappedFile() = default;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
  std::string owned_;
};

class SafetensorsFile {
 public:
  // Opens and validates; throws IoError (cannot read) or WeightError (malformed), naming the file.
  static SafetensorsFile open(const std::filesystem::path& path);
  // Parses an in-memory file; `source` names it in errors.
  static SafetensorsFile parse(std::shared_ptr<MappedFile> buffer, std::string source);

  const std::string& source() const { return source_; }
  // Tensors in data-offset order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;
  // Like find, but throws WeightError naming the file when the tensor is absent.
  const TensorInfo& at(std::string_view name) const;
  // `__metadata__` entries in file order.
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }

  std::span<std::byte> bytes(const TensorInfo& info) const;
  // Keeps the mapping alive: hand it to anything that outlives this object (tensor views).
  const std::shared_ptr<MappedFile>& buffer() const { return buffer_; }

 private:
  SafetensorsFile() = default;
  std::shared_ptr<MappedFile> buffer_;
  std::string source_;
  std::size_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

struct TensorToWrite {
  std::string name;
  Dtype dtype;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;
};

// Header bytes (8-byte length + JSON padded with spaces to 8 bytes) for `tensors`, which it sorts into
// the file's order (descending dtype, then name) and assigns offsets to, as the Rust crate does.
std::string safetensors_header(std::vector<TensorToWrite>& tensors,
                               const std::vector<std::pair<std::string, std::string>>& metadata);

// Writes atomically (temporary file + rename). Throws InvalidArgumentError for duplicate names or a
// data size that does not match dtype × shape, IoError when the file cannot be written.
void write_safetensors(const std::filesystem::path& path, std::vector<TensorToWrite> tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata = {});

}  // namespace gemma::io
