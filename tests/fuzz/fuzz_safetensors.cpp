// The safetensors header parser on arbitrary files: each either parses into tensors that tile its
// data section, or throws gemma::Error. What parses is written again with our header writer and
// parsed back, which must give the same tensors.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "gemma/error.h"
#include "io/safetensors.h"

namespace {

using gemma::io::MappedFile;
using gemma::io::SafetensorsFile;

void check(bool ok) {
  if (!ok) std::abort();
}

void round_trip(const SafetensorsFile& file) {
  std::vector<gemma::io::TensorToWrite> tensors;
  for (const auto& t : file.tensors()) tensors.push_back({t.name, t.dtype, t.shape, file.bytes(t)});
  std::string bytes = gemma::io::safetensors_header(tensors, file.metadata());
  for (const auto& t : tensors)
    bytes.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
  const auto again = SafetensorsFile::parse(MappedFile::from_bytes(std::move(bytes)), "rewritten");
  check(again.tensors().size() == file.tensors().size());
  check(again.metadata() == file.metadata());
  for (const auto& t : file.tensors()) {
    const auto* u = again.find(t.name);
    check(u != nullptr && u->dtype == t.dtype && u->shape == t.shape);
    const auto a = file.bytes(t);
    const auto b = again.bytes(*u);
    check(a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto buffer = MappedFile::from_bytes(std::string(reinterpret_cast<const char*>(data), size));
  std::optional<SafetensorsFile> file;
  try {
    file.emplace(SafetensorsFile::parse(buffer, "fuzz.safetensors"));
  } catch (const gemma::Error&) {
    return 0;  // the expected outcome for malformed input
  }
  // Outside the try: an exception from here on is a bug.
  const std::byte* begin = buffer->data();
  const std::byte* end = begin + buffer->size();
  for (const auto& t : file->tensors()) {
    const auto bytes = file->bytes(t);
    check(bytes.data() >= begin && bytes.data() + bytes.size() <= end);
    check(&file->at(t.name) == &t);
    check(bytes.size() == t.nbytes());
  }
  round_trip(*file);
  return 0;
}
