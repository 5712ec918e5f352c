#pragma once
// What decode_image learns from the encoded bytes before OpenCV touches them: the format, the
// stored size (so that a forged header cannot make the decoder allocate gigabytes) and the EXIF
// orientation that PIL's exif_transpose would apply (OpenCV's IMREAD_UNCHANGED ignores it).
#include <cstdint>
#include <string_view>

namespace gemma::media {

struct ImageHeader {
  std::string_view format;  ///< "PNG", "JPEG", "WebP", "BMP" or "PNM"
  int64_t width = 0;        ///< pixels as stored, before the orientation is applied
  int64_t height = 0;
  int orientation = 1;  ///< EXIF Orientation 1..8; 1 when absent or outside 1..8, as in PIL
};

// Throws ProcessorError naming `name` for bytes that are no image in a format listed above (or
// whose header is cut short), a zero size, or a JPEG without its end marker (PIL refuses truncated
// files; libjpeg would pad them with grey). Throws UnsupportedError for GIF, TIFF, JPEG 2000 and
// HEIF/AVIF, which PIL reads but OpenCV 4.6 cannot decode, or not as PIL does.
ImageHeader read_image_header(std::string_view bytes, std::string_view name);

}  // namespace gemma::media
