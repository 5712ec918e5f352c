#include "media/image_header.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>

#include "gemma/error.h"

namespace gemma::media {

namespace {

using namespace std::string_view_literals;

// Bounds-checked unsigned reads of a byte range: nullopt past the end, never a read out of range.
class Bytes {
 public:
  Bytes(std::string_view data, bool big_endian) : data_(data), big_endian_(big_endian) {}

  std::optional<uint32_t> u8(std::size_t at) const { return read(at, 1); }
  std::optional<uint32_t> u16(std::size_t at) const { return read(at, 2); }
  std::optional<uint32_t> u24(std::size_t at) const { return read(at, 3); }
  std::optional<uint32_t> u32(std::size_t at) const { return read(at, 4); }

  // Up to `n` bytes from `at`, shorter where the data ends.
  std::string_view sub(std::size_t at, std::size_t n) const {
    return at > data_.size() ? std::string_view() : data_.substr(at, n);
  }

 private:
  std::optional<uint32_t> read(std::size_t at, std::size_t n) const {
    if (at > data_.size() || n > data_.size() - at) return std::nullopt;
    uint32_t value = 0;
    for (std::size_t i = 0; i < n; ++i) {
      value = value << 8 | static_cast<uint8_t>(data_[at + (big_endian_ ? i : n - 1 - i)]);
    }
    return value;
  }

  std::string_view data_;
  bool big_endian_;
};

constexpr auto kExifPrefix = "Exif\0\0"sv;

// A SHORT or LONG tag holding one value in the first IFD of a TIFF stream (an EXIF payload is one,
// possibly behind "Exif\0\0"); nullopt when absent or malformed.
std::optional<uint32_t> tiff_tag(std::string_view tiff, uint16_t tag) {
  if (tiff.starts_with(kExifPrefix)) tiff.remove_prefix(kExifPrefix.size());
  bool big_endian = false;
  if (tiff.starts_with("MM\0*"sv)) {
    big_endian = true;
  } else if (!tiff.starts_with("II*\0"sv)) {
    return std::nullopt;
  }
  const Bytes b(tiff, big_endian);
  const auto ifd = b.u32(4);
  const auto count = ifd ? b.u16(*ifd) : std::nullopt;
  if (!count) return std::nullopt;
  for (std::size_t i = 0; i < *count; ++i) {
    const std::size_t entry = *ifd + 2 + 12 * i;
    const auto id = b.u16(entry);
    if (!id) return std::nullopt;
    if (*id != tag) continue;
    if (b.u32(entry + 4) != 1u) return std::nullopt;
    const auto type = b.u16(entry + 2);
    if (type == 3u) return b.u16(entry + 8);
    if (type == 4u) return b.u32(entry + 8);
    return std::nullopt;
  }
  return std::nullopt;
}

// exif_transpose only acts on 2..8.
int orientation_from(std::string_view exif) {
  const auto value = tiff_tag(exif, 274);
  return value && *value >= 2 && *value <= 8 ? static_cast<int>(*value) : 1;
}

[[noreturn]] void fail(std::string_view name, std::string_view format, std::string_view problem) {
  throw ProcessorError(fmt::format("{}: {} image {}", name, format, problem));
}

bool is_start_of_frame(uint32_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

ImageHeader jpeg_header(std::string_view bytes, std::string_view name) {
  const Bytes b(bytes, true);
  ImageHeader header{"JPEG"};
  bool have_frame = false, have_exif = false;
  std::optional<std::size_t> scan;
  std::size_t pos = 2;
  while (!scan && b.u8(pos) == 0xFFu) {
    while (b.u8(pos) == 0xFFu) ++pos;  // fill bytes
    const auto marker = b.u8(pos++);
    if (!marker || *marker == 0xD9) break;
    if (*marker == 0x01 || (*marker >= 0xD0 && *marker <= 0xD7)) continue;  // no length field
    const auto length = b.u16(pos);
    if (!length || *length < 2) break;
    if (*marker == 0xDA) {
      scan = pos;
    } else if (is_start_of_frame(*marker) && !have_frame) {
      const auto height = b.u16(pos + 3), width = b.u16(pos + 5);
      if (!height || !width) break;
      header.height = *height;
      header.width = *width;
      have_frame = true;
    } else if (*marker == 0xE1 && !have_exif && b.sub(pos + 2, 6) == kExifPrefix) {
      header.orientation = orientation_from(b.sub(pos + 2, *length - 2));
      have_exif = true;  // PIL reads the first Exif APP1 segment only
    }
    pos += *length;
  }
  if (!have_frame || !scan)
    fail(name, "JPEG", "is corrupt or truncated (no frame header before the image data)");
  const auto end = bytes.rfind("\xFF\xD9"sv);
  if (end == std::string_view::npos || end < *scan) {
    fail(name, "JPEG", "is truncated (no end-of-image marker after the image data)");
  }
  return header;
}

ImageHeader png_header(std::string_view bytes, std::string_view name) {
  const Bytes b(bytes, true);
  if (b.sub(12, 4) != "IHDR" || !b.u32(20)) fail(name, "PNG", "is truncated (no IHDR chunk)");
  ImageHeader header{"PNG", *b.u32(16), *b.u32(20)};
  for (std::size_t pos = 8;;) {
    const auto length = b.u32(pos);
    const auto type = b.sub(pos + 4, 4);
    if (!length || type.size() < 4 || type == "IEND") break;
    if (type == "eXIf") header.orientation = orientation_from(b.sub(pos + 8, *length));
    pos += std::size_t{12} + *length;
  }
  return header;
}

// The size comes from the first chunk only, which libwebp (OpenCV's decoder, and PIL's) requires
// to be the image (VP8, VP8L) or the extended header (VP8X). OpenCV gives a file its WebP decoder
// refuses to any other decoder that claims it, GDAL through a temporary file, with a size we
// never checked: such files stop here.
ImageHeader webp_header(std::string_view bytes, std::string_view name) {
  const Bytes b(bytes, false);
  ImageHeader header{"WebP"};
  constexpr std::size_t kFirst = 12;
  for (std::size_t pos = kFirst;;) {
    const auto type = b.sub(pos, 4);
    const auto size = b.u32(pos + 4);
    if (!size || type.size() < 4) break;
    const std::size_t data = pos + 8;
    if (pos == kFirst && type == "VP8 " && b.sub(data + 3, 3) == "\x9d\x01\x2a"sv) {
      header.width = b.u16(data + 6).value_or(0) & 0x3FFF;
      header.height = b.u16(data + 8).value_or(0) & 0x3FFF;
    } else if (pos == kFirst && type == "VP8L" && b.u8(data) == 0x2Fu && b.u32(data + 1)) {
      const uint32_t bits = *b.u32(data + 1);
      header.width = (bits & 0x3FFF) + 1;
      header.height = ((bits >> 14) & 0x3FFF) + 1;
    } else if (pos == kFirst && type == "VP8X" && *size == 10 && b.u24(data + 7)) {
      header.width = int64_t{*b.u24(data + 4)} + 1;
      header.height = int64_t{*b.u24(data + 7)} + 1;
    } else if (type == "EXIF") {
      header.orientation = orientation_from(b.sub(data, *size));
    }
    pos = data + *size + (*size & 1);
  }
  if (header.width == 0)
    fail(name, "WebP", "is truncated or corrupt (no VP8/VP8L/VP8X frame header)");
  return header;
}

ImageHeader bmp_header(std::string_view bytes, std::string_view name) {
  const Bytes b(bytes, false);
  const auto dib_size = b.u32(14);
  if (dib_size == 12u && b.u16(20)) return {"BMP", *b.u16(18), *b.u16(20)};
  if (!dib_size || *dib_size < 12 || !b.u32(22)) fail(name, "BMP", "is truncated (no DIB header)");
  const auto width = static_cast<int32_t>(*b.u32(18));
  const auto height = static_cast<int32_t>(*b.u32(22));  // negative: stored top-down
  if (width < 0) fail(name, "BMP", fmt::format("has a negative width ({})", width));
  return {"BMP", width, height < 0 ? -int64_t{height} : height};
}

// Netpbm P1..P6: magic, then width and height as decimal text between whitespace and # comments.
// The header is read the way OpenCV's decoder will read it, or refused: a size that OpenCV reads
// larger than we do would slip past kMaxImagePixels. Where OpenCV and PIL disagree (a comment or
// other byte right after a number: "1#c\n2" is 1 for OpenCV, 12 for PIL) or PIL refuses (tokens
// over 10 characters), the file is refused too.
ImageHeader pnm_header(std::string_view bytes, std::string_view name) {
  const auto is_space = [&](std::size_t at) {
    return at < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[at]));
  };
  if (!is_space(2)) fail(name, "PNM", "is corrupt (no whitespace after the magic number)");
  std::size_t pos = 2;
  auto number = [&]() -> int64_t {
    while (is_space(pos) || (pos < bytes.size() && bytes[pos] == '#')) {
      if (bytes[pos] == '#') {
        pos = bytes.find_first_of("\r\n", pos);  // OpenCV and PIL end a comment at CR or LF
        if (pos == std::string_view::npos) pos = bytes.size();
      } else {
        ++pos;
      }
    }
    int64_t value = 0;
    const std::size_t start = pos;
    while (pos < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[pos]))) {
      if (pos - start == 10) fail(name, "PNM", "is corrupt (a size of more than 10 digits)");
      value = value * 10 + (bytes[pos++] - '0');
    }
    if (pos == start) fail(name, "PNM", "is truncated or corrupt (no width/height)");
    if (pos < bytes.size() && !is_space(pos)) {
      fail(name, "PNM", "is corrupt (no whitespace after the width or height)");
    }
    return value;
  };
  const int64_t width = number();
  return {"PNM", width, number()};
}

// Formats PIL opens but OpenCV 4.6 cannot decode as PIL does. TIFF: OpenCV applies the orientation
// tag itself, wrongly for gray images, and premultiplies alpha.
std::optional<std::string_view> unsupported_format(std::string_view bytes) {
  if (bytes.starts_with("II*\0"sv) || bytes.starts_with("MM\0*"sv)) return "TIFF";
  if (bytes.starts_with("GIF87a") || bytes.starts_with("GIF89a")) return "GIF";
  if (bytes.starts_with("\0\0\0\x0CjP  \r\n\x87\n"sv) || bytes.starts_with("\xFF\x4F\xFF\x51"sv)) {
    return "JPEG 2000";
  }
  const auto brand = bytes.substr(std::min<std::size_t>(bytes.size(), 8), 4);
  if (bytes.substr(std::min<std::size_t>(bytes.size(), 4), 4) == "ftyp") {
    for (std::string_view heif :
         {"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1", "avif", "avis"}) {
      if (brand == heif) return "HEIF/AVIF";
    }
  }
  return std::nullopt;
}

ImageHeader sniff(std::string_view bytes, std::string_view name) {
  if (bytes.starts_with("\xFF\xD8\xFF"sv)) return jpeg_header(bytes, name);
  if (bytes.starts_with("\x89PNG\r\n\x1a\n"sv)) return png_header(bytes, name);
  if (bytes.starts_with("RIFF") &&
      bytes.substr(std::min<std::size_t>(bytes.size(), 8), 4) == "WEBP") {
    return webp_header(bytes, name);
  }
  if (bytes.starts_with("BM")) return bmp_header(bytes, name);
  if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6') {
    return pnm_header(bytes, name);
  }
  if (const auto format = unsupported_format(bytes)) {
    throw UnsupportedError(fmt::format(
        "{}: {} images are not supported (OpenCV 4.6 cannot decode them as PIL does); convert "
        "to PNG or JPEG",
        name, *format));
  }
  if (bytes.empty())
    throw ProcessorError(fmt::format("{}: the image data is empty (0 bytes)", name));
  throw ProcessorError(
      fmt::format("{}: not an image in a supported format (PNG, JPEG, WebP, BMP, PNM)", name));
}

}  // namespace

ImageHeader read_image_header(std::string_view bytes, std::string_view name) {
  auto header = sniff(bytes, name);
  if (header.width <= 0 || header.height <= 0) {
    fail(name, header.format, fmt::format("has no pixels ({}x{})", header.width, header.height));
  }
  return header;
}

}  // namespace gemma::media
