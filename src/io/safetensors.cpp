#include "io/safetensors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "gemma/error.h"
#include "util/files.h"
#include "util/json.h"

namespace gemma::io {
namespace {

// The Rust crate's limit: a larger header is refused before it is read.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::size_t kLengthBytes = 8;

struct DtypeEntry {
  Dtype dtype;
  std::string_view name;
  std::size_t bits;
};

constexpr std::array<DtypeEntry, 22> kDtypes = {{
    {Dtype::kBool, "BOOL", 8},
    {Dtype::kF4, "F4", 4},
    {Dtype::kF6_E2M3, "F6_E2M3", 6},
    {Dtype::kF6_E3M2, "F6_E3M2", 6},
    {Dtype::kU8, "U8", 8},
    {Dtype::kI8, "I8", 8},
    {Dtype::kF8_E5M2, "F8_E5M2", 8},
    {Dtype::kF8_E4M3, "F8_E4M3", 8},
    {Dtype::kF8_E8M0, "F8_E8M0", 8},
    {Dtype::kF8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {Dtype::kF8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {Dtype::kI16, "I16", 16},
    {Dtype::kU16, "U16", 16},
    {Dtype::kF16, "F16", 16},
    {Dtype::kBF16, "BF16", 16},
    {Dtype::kI32, "I32", 32},
    {Dtype::kU32, "U32", 32},
    {Dtype::kF32, "F32", 32},
    {Dtype::kC64, "C64", 64},
    {Dtype::kF64, "F64", 64},
    {Dtype::kI64, "I64", 64},
    {Dtype::kU64, "U64", 64},
}};

const DtypeEntry& entry(Dtype dtype) { return kDtypes[static_cast<std::size_t>(dtype)]; }

[[noreturn]] void fail(const std::string& source, const std::string& problem) {
  throw WeightError(fmt::format("{}: {}", source, problem));
}

// a * b, or nullopt on overflow.
std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

// ordered_json keeps the file's key order, which the metadata round trip needs.
using Json = nlohmann::ordered_json;

Json parse_header_json(std::string_view text, const std::string& source) {
  // nlohmann keeps the last of duplicate keys silently; a checkpoint with two entries of one name
  // is ambiguous, so top-level keys are checked while parsing.
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      auto key = parsed.get<std::string>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  const Json header = util::parse_json<WeightError, Json>(text, source + ": header", on_event);
  if (!duplicate.empty()) fail(source, fmt::format("header names tensor '{}' twice", duplicate));
  if (!header.is_object()) {
    fail(source, fmt::format("header must be a JSON object, got {}", header.type_name()));
  }
  return header;
}

std::vector<std::pair<std::string, std::string>> parse_metadata(const Json& value,
                                                                const std::string& source) {
  if (!value.is_object()) fail(source, "__metadata__ must be an object of strings");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      fail(source,
           fmt::format("__metadata__ entry '{}' must be a string, got {}", key, v.type_name()));
    }
    out.emplace_back(key, v.get<std::string>());
  }
  return out;
}

TensorInfo parse_tensor(const std::string& name, const Json& value, const std::string& source) {
  auto bad = [&](const std::string& problem) {
    fail(source, fmt::format("tensor '{}': {}", name, problem));
  };
  if (!value.is_object()) bad(fmt::format("entry must be an object, got {}", value.type_name()));
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key)) bad(fmt::format("missing '{}'", key));
  }
  TensorInfo info;
  info.name = name;

  const auto& dtype = value["dtype"];
  if (!dtype.is_string()) bad(fmt::format("dtype must be a string, got {}", dtype.dump()));
  auto parsed = parse_dtype(dtype.get<std::string>());
  if (!parsed) bad(fmt::format("unknown dtype '{}'", dtype.get<std::string>()));
  info.dtype = *parsed;

  const auto& shape = value["shape"];
  if (!shape.is_array()) bad(fmt::format("shape must be an array, got {}", shape.dump()));
  for (const auto& dim : shape) {
    if (!dim.is_number_unsigned() || dim.get<std::uint64_t>() > INT64_MAX) {
      bad(fmt::format("shape must hold non-negative integers, got {}", shape.dump()));
    }
    info.shape.push_back(static_cast<std::int64_t>(dim.get<std::uint64_t>()));
  }

  const auto& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    bad(fmt::format("data_offsets must be two non-negative integers, got {}", offsets.dump()));
  }
  info.begin = offsets[0].get<std::uint64_t>();
  info.end = offsets[1].get<std::uint64_t>();
  if (info.end < info.begin) {
    bad(fmt::format("data_offsets [{}, {}] end before they begin", info.begin, info.end));
  }
  return info;
}

std::uint64_t expected_nbytes(const TensorInfo& info, const std::string& source) {
  std::optional<std::uint64_t> bits = entry(info.dtype).bits;
  for (auto dim : info.shape) {
    bits = bits ? checked_mul(*bits, static_cast<std::uint64_t>(dim)) : std::nullopt;
  }
  if (!bits) fail(source, fmt::format("tensor '{}': shape overflows", info.name));
  if (*bits % 8 != 0) {
    fail(source, fmt::format("tensor '{}': {} bits of {} do not fill whole bytes", info.name, *bits,
                             dtype_name(info.dtype)));
  }
  return *bits / 8;
}

// The format requires the tensors to tile the data section exactly: sorted by offset, each starts
// where the previous ended, the last ends at the end of the file.
void check_layout(const std::vector<TensorInfo>& tensors, std::uint64_t data_size,
                  const std::string& source) {
  std::uint64_t cursor = 0;
  for (const auto& t : tensors) {
    if (t.begin < cursor) {
      fail(source, fmt::format("tensor '{}': data_offsets [{}, {}] overlap the previous tensor, "
                               "which ends at {}",
                               t.name, t.begin, t.end, cursor));
    }
    if (t.begin > cursor) {
      fail(source, fmt::format("tensor '{}': data_offsets [{}, {}] leave a gap after byte {}",
                               t.name, t.begin, t.end, cursor));
    }
    if (t.end > data_size) {
      fail(source, fmt::format("tensor '{}': data_offsets [{}, {}] run past the data section "
                               "({} bytes)",
                               t.name, t.begin, t.end, data_size));
    }
    auto want = expected_nbytes(t, source);
    if (t.nbytes() != want) {
      fail(source,
           fmt::format("tensor '{}': {} bytes stored but {} × {} needs {}", t.name, t.nbytes(),
                       dtype_name(t.dtype), nlohmann::json(t.shape).dump(), want));
    }
    cursor = t.end;
  }
  if (cursor != data_size) {
    fail(source,
         fmt::format("tensors cover {} bytes but the data section has {}", cursor, data_size));
  }
}

std::string json_string(std::string_view s) {
  try {
    return nlohmann::json(s).dump();
  } catch (const nlohmann::json::type_error&) {
    throw InvalidArgumentError(fmt::format("safetensors writer: '{}' is not valid UTF-8", s));
  }
}

}  // namespace

std::string_view dtype_name(Dtype dtype) { return entry(dtype).name; }

std::size_t dtype_bits(Dtype dtype) { return entry(dtype).bits; }

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& e : kDtypes) {
    if (e.name == name) return e.dtype;
  }
  return std::nullopt;
}

std::uint64_t TensorInfo::numel() const {
  std::uint64_t n = 1;
  for (auto d : shape) n *= static_cast<std::uint64_t>(d);
  return n;
}

std::shared_ptr<MappedFile> MappedFile::map(const std::filesystem::path& path) {
  // No size cap: the file is mapped, not read, and the header checks bound what is touched.
  const auto opened = util::open_regular_file(path, std::numeric_limits<std::uint64_t>::max());
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->size_ = static_cast<std::size_t>(opened.size);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, opened.fd.get(), 0);
    if (p == MAP_FAILED) {
      throw IoError(fmt::format("{}: cannot map ({})", path.string(), std::strerror(errno)));
    }
    file->data_ = static_cast<std::byte*>(p);
    file->mapped_ = true;
  }
  return file;
}

std::shared_ptr<MappedFile> MappedFile::from_bytes(std::string bytes) {
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->owned_ = std::move(bytes);
  file->data_ = reinterpret_cast<std::byte*>(file->owned_.data());
  file->size_ = file->owned_.size();
  return file;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(data_, size_);
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  return parse(MappedFile::map(path), path.string());
}

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<MappedFile> buffer, std::string source) {
  const auto size = buffer->size();
  if (size < kLengthBytes) {
    fail(source, fmt::format("file has {} bytes, fewer than the 8-byte header length", size));
  }
  const std::uint64_t n = read_u64_le(buffer->data());
  if (n > kMaxHeaderBytes) {
    fail(source, fmt::format("header length {} exceeds the 100000000-byte limit", n));
  }
  if (n > size - kLengthBytes) {
    fail(source, fmt::format("header length {} runs past the end of the {}-byte file", n, size));
  }
  std::string_view text(reinterpret_cast<const char*>(buffer->data()) + kLengthBytes, n);
  auto header = parse_header_json(text, source);

  SafetensorsFile file;
  file.source_ = std::move(source);
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      file.metadata_ = parse_metadata(value, file.source_);
    } else {
      file.tensors_.push_back(parse_tensor(key, value, file.source_));
    }
  }
  std::stable_sort(file.tensors_.begin(), file.tensors_.end(), [](const auto& a, const auto& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  file.data_start_ = kLengthBytes + n;
  check_layout(file.tensors_, size - file.data_start_, file.source_);
  for (std::size_t i = 0; i < file.tensors_.size(); ++i)
    file.index_.emplace(file.tensors_[i].name, i);
  file.buffer_ = std::move(buffer);
  return file;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  if (const auto* t = find(name)) return *t;
  fail(source_, fmt::format("no tensor named '{}'", name));
}

std::span<std::byte> SafetensorsFile::bytes(const TensorInfo& info) const {
  return {buffer_->data() + data_start_ + info.begin, info.nbytes()};
}

std::string safetensors_header(std::vector<TensorToWrite>& tensors,
                               const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    if (a.dtype != b.dtype) return a.dtype > b.dtype;
    return a.name < b.name;
  });
  std::set<std::string_view> names;
  for (const auto& t : tensors) {
    if (!names.insert(t.name).second) {
      throw InvalidArgumentError(
          fmt::format("safetensors writer: tensor '{}' given twice", t.name));
    }
    if (t.name == "__metadata__") {
      throw InvalidArgumentError("safetensors writer: '__metadata__' is reserved");
    }
  }

  // Compact JSON in the crate's field order: __metadata__ first, then tensors by offset.
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (std::size_t i = 0; i < metadata.size(); ++i) {
      if (i) json += ',';
      json += json_string(metadata[i].first) + ':' + json_string(metadata[i].second);
    }
    json += '}';
  }
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    TensorInfo info{t.name, t.dtype, t.shape, 0, 0};
    auto want = expected_nbytes(info, "safetensors writer");
    if (want != t.data.size()) {
      throw InvalidArgumentError(
          fmt::format("safetensors writer: tensor '{}' has {} bytes but {} × {} needs {}", t.name,
                      t.data.size(), dtype_name(t.dtype), nlohmann::json(t.shape).dump(), want));
    }
    if (json.size() > 1) json += ',';
    json += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":{},\"data_offsets\":[{},{}]}}",
                        json_string(t.name), dtype_name(t.dtype), nlohmann::json(t.shape).dump(),
                        offset, offset + want);
    offset += want;
  }
  json += '}';
  json.resize((json.size() + kLengthBytes - 1) / kLengthBytes * kLengthBytes, ' ');

  std::string out(kLengthBytes, '\0');
  const std::uint64_t n = json.size();
  for (std::size_t i = 0; i < kLengthBytes; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + json;
}

void write_safetensors(const std::filesystem::path& path, std::vector<TensorToWrite> tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  const std::string header = safetensors_header(tensors, metadata);
  util::write_file_atomically(path, [&](std::ostream& out) {
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& t : tensors) {
      out.write(reinterpret_cast<const char*>(t.data.data()),
                static_cast<std::streamsize>(t.data.size()));
    }
  });
}

}  // namespace gemma::io
