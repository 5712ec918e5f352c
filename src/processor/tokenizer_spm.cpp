#include "processor/tokenizer_spm.h"

#include <fmt/format.h>
#include <sentencepiece_processor.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "gemma/error.h"
#include "util/files.h"

namespace gemma::detail {
namespace {

namespace fs = std::filesystem;

// The few fields of sentencepiece_model.proto read here (Debian ships no generated header).
constexpr uint32_t kModelPiecesField = 1;
constexpr uint32_t kModelTrainerSpecField = 2;
constexpr uint32_t kModelNormalizerSpecField = 3;
constexpr uint32_t kPieceTypeField = 3;
constexpr uint32_t kTrainerModelTypeField = 3;
constexpr uint32_t kTrainerByteFallbackField = 35;
constexpr uint64_t kModelTypeBpe = 2;
constexpr uint64_t kModelTypeUnigram = 1;  // the proto default
constexpr uint64_t kPieceNormal = 1;       // the proto default
constexpr uint64_t kPieceControl = 3;
constexpr uint64_t kPieceUserDefined = 4;

// transformers' GemmaTokenizer ignores the model's normalizer_spec and only turns spaces into "▁"
// (no dummy prefix, no whitespace folding, no NFKC). This spec makes sentencepiece do the same:
// field 3 {name: "identity", add_dummy_prefix: false, remove_extra_whitespaces: false,
// escape_whitespaces: true}.
constexpr char kGemmaNormalizerSpec[] =
    "\x1A\x10"
    "\x0A\x08identity"
    "\x18\x00"
    "\x20\x00"
    "\x28\x01";

struct MalformedProto : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ProtoField {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t varint = 0;       // wire type 0
  std::string_view payload;  // wire type 2
  std::string_view encoded;  // the whole field, tag included
};

// Protobuf wire format, just enough to walk messages; bounds-checked for untrusted files.
class ProtoReader {
 public:
  explicit ProtoReader(std::string_view data) : data_(data) {}

  bool done() const { return pos_ == data_.size(); }

  ProtoField next() {
    const size_t begin = pos_;
    const uint64_t tag = read_varint();
    ProtoField field;
    field.number = static_cast<uint32_t>(tag >> 3);
    field.wire_type = static_cast<uint32_t>(tag & 7);
    if (field.number == 0 || tag >> 32 != 0) throw MalformedProto("bad field tag");
    switch (field.wire_type) {
      case 0:
        field.varint = read_varint();
        break;
      case 1:
        skip(8);
        break;
      case 2:
        field.payload = take(read_varint());
        break;
      case 5:
        skip(4);
        break;
      default:
        throw MalformedProto(fmt::format("unknown wire type {}", field.wire_type));
    }
    field.encoded = data_.substr(begin, pos_ - begin);
    return field;
  }

 private:
  uint64_t read_varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == data_.size()) throw MalformedProto("truncated varint");
      const auto byte = static_cast<unsigned char>(data_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw MalformedProto("varint longer than 10 bytes");
  }

  std::string_view take(uint64_t length) {
    if (length > data_.size() - pos_) throw MalformedProto("field runs past the end");
    const std::string_view out = data_.substr(pos_, length);
    pos_ += length;
    return out;
  }

  void skip(uint64_t length) { take(length); }

  std::string_view data_;
  size_t pos_ = 0;
};

// The varint field `number` of a message, or `fallback` when absent (the last one wins).
uint64_t varint_field(std::string_view message, uint32_t number, uint64_t fallback) {
  ProtoReader reader(message);
  while (!reader.done()) {
    const ProtoField field = reader.next();
    if (field.number == number && field.wire_type == 0) fallback = field.varint;
  }
  return fallback;
}

struct ParsedModel {
  std::string proto;  // with kGemmaNormalizerSpec in place of the file's normalizer
  std::vector<uint64_t> piece_types;
  uint64_t model_type = kModelTypeUnigram;
  bool byte_fallback = false;
};

ParsedModel parse_model(std::string_view file) {
  ParsedModel parsed;
  parsed.proto.reserve(file.size() + sizeof(kGemmaNormalizerSpec));
  ProtoReader reader(file);
  while (!reader.done()) {
    const ProtoField field = reader.next();
    if (field.number == kModelNormalizerSpecField) continue;
    if (field.number == kModelPiecesField && field.wire_type == 2) {
      parsed.piece_types.push_back(varint_field(field.payload, kPieceTypeField, kPieceNormal));
    } else if (field.number == kModelTrainerSpecField && field.wire_type == 2) {
      parsed.model_type = varint_field(field.payload, kTrainerModelTypeField, parsed.model_type);
      parsed.byte_fallback = varint_field(field.payload, kTrainerByteFallbackField, 0) != 0;
    }
    parsed.proto.append(field.encoded);
  }
  parsed.proto.append(kGemmaNormalizerSpec, sizeof(kGemmaNormalizerSpec) - 1);
  return parsed;
}

}  // namespace

SentencePieceModel::SentencePieceModel(const fs::path& path)
    : SentencePieceModel(util::read_file(path, util::kMaxTokenizerFileBytes), path) {}

SentencePieceModel SentencePieceModel::from_bytes(std::string_view bytes, fs::path name) {
  return SentencePieceModel(bytes, std::move(name));
}

SentencePieceModel::SentencePieceModel(std::string_view bytes, fs::path name)
    : path_(std::move(name)),
      processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const fs::path& path = path_;
  ParsedModel parsed;
  try {
    parsed = parse_model(bytes);
  } catch (const MalformedProto& e) {
    throw ProcessorError(fmt::format("{}: not a sentencepiece model: {}", path.string(), e.what()));
  }
  if (parsed.piece_types.empty()) {
    throw ProcessorError(fmt::format("{}: not a sentencepiece model: no pieces", path.string()));
  }
  if (parsed.model_type != kModelTypeBpe) {
    throw UnsupportedError(fmt::format(
        "{}: sentencepiece model type {} is not BPE; Gemma's tokenizer is BPE with byte fallback",
        path.string(), parsed.model_type));
  }
  if (!parsed.byte_fallback) {
    throw UnsupportedError(fmt::format(
        "{}: the sentencepiece model has no byte fallback, which Gemma's tokenizer needs",
        path.string()));
  }
  const auto status = processor_->LoadFromSerializedProto(parsed.proto);
  if (!status.ok()) {
    throw ProcessorError(
        fmt::format("{}: not a sentencepiece model: {}", path.string(), status.ToString()));
  }
  piece_types_ = std::move(parsed.piece_types);
  if (static_cast<int64_t>(piece_types_.size()) != size()) {
    throw ProcessorError(fmt::format("{}: {} pieces listed but sentencepiece loaded {}",
                                     path.string(), piece_types_.size(), size()));
  }
}

SentencePieceModel::SentencePieceModel(SentencePieceModel&&) noexcept = default;
SentencePieceModel::~SentencePieceModel() = default;

void SentencePieceModel::encode(std::string_view normalized, std::vector<int64_t>& ids) const {
  std::vector<int> pieces;
  const auto status = processor_->Encode(normalized, &pieces);
  if (!status.ok()) {
    throw ProcessorError(
        fmt::format("{}: sentencepiece cannot encode: {}", path_.string(), status.ToString()));
  }
  ids.insert(ids.end(), pieces.begin(), pieces.end());
}

int64_t SentencePieceModel::size() const { return processor_->GetPieceSize(); }

std::string_view SentencePieceModel::piece(int64_t id) const {
  return processor_->IdToPiece(static_cast<int>(id));
}

std::optional<int64_t> SentencePieceModel::find(std::string_view piece) const {
  // PieceToId answers unk_id for unknown pieces.
  const int id = processor_->PieceToId(piece);
  if (id < 0 || processor_->IdToPiece(id) != piece) return std::nullopt;
  return id;
}

bool SentencePieceModel::is_control(int64_t id) const {
  return piece_types_.at(static_cast<size_t>(id)) == kPieceControl;
}

bool SentencePieceModel::is_user_defined(int64_t id) const {
  return piece_types_.at(static_cast<size_t>(id)) == kPieceUserDefined;
}

}  // namespace gemma::detail
