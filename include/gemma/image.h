#pragma once
/// Images and video frames as model input: loading and decoding (the pixels transformers'
/// `load_image` gives). Decoding is OpenCV underneath; no OpenCV type appears here (see
/// gemma/opencv.h for cv::Mat input), and no LibTorch type either: gemma/image_processor.h turns
/// images into `pixel_values`.
#include <cstdint>
#include <string_view>
#include <vector>

#include "gemma/export.h"
#include "gemma/media_limits.h"

namespace gemma {

/// Largest image accepted at all, in pixels (width × height): 2^28, e.g. 16384 × 16384. Decoding
/// stops below that, at MediaLimits::max_image_pixels (PIL's limit), checked against the encoded
/// file's header before any pixel is decoded, so that a forged header cannot exhaust memory.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

/// An 8-bit RGB image that owns its pixels.
struct Image {
  int64_t width = 0;         ///< pixels
  int64_t height = 0;        ///< pixels
  std::vector<uint8_t> rgb;  ///< height × width × 3 bytes: rows top to bottom, R, G, B per pixel
};

/// Loads a local path, a file:// URL, an http(s) URL or a data: URI within `limits` (size, and
/// for URLs time and redirects), then decode_image(). Throws
/// IoError (the source cannot be read) or what decode_image throws, naming `source`.
GEMMA_API Image load_image(std::string_view source, const MediaLimits& limits = {});

/// Decodes PNG, JPEG, WebP, BMP or PNM bytes to what transformers' `load_image` returns: the EXIF
/// orientation applied (JPEG APP1, PNG eXIf, WebP EXIF chunk), then PIL's `convert("RGB")`: palette
/// expanded, grayscale replicated, alpha dropped (not composited), 16-bit colour reduced to its
/// high byte, 16-bit grayscale clipped at 255 (PIL's I;16 -> RGB rule). Byte-identical to PIL on
/// these formats except CMYK JPEGs (OpenCV's CMYK -> RGB rounding: at most 1 level off) and
/// orientation given only in XMP (PIL reads it, this ignores it). `name` (a path, URL, ...) words
/// the errors. Throws ProcessorError naming `name` for bytes that are empty, no image, truncated or
/// corrupt (quoting the decoder's message, which is not printed), or larger than
/// limits.max_image_pixels (checked from the header before decoding); UnsupportedError for GIF,
/// TIFF, JPEG 2000, HEIF/AVIF (OpenCV 4.6 decodes them not at all or not as PIL does) and for
/// depths other than 8 and 16 bits.
GEMMA_API Image decode_image(std::string_view bytes, std::string_view name,
                             const MediaLimits& limits = {});

/// Copies `width` × `height` RGB pixels (rows top to bottom, 3 bytes per pixel, no row padding)
/// from `data`, which the caller keeps. Throws InvalidArgumentError for a null `data`, a size below
/// 1 or above kMaxImagePixels.
GEMMA_API Image image_from_rgb(const uint8_t* data, int64_t width, int64_t height);

/// Most frames one video may give (VideoOptions::max_frames): far more than a model's context
/// holds (256 prompt tokens each with Gemma 3n).
inline constexpr int64_t kMaxVideoFrames = 100'000;

/// How load_video_frames() samples a video.
struct VideoOptions {
  double fps = 1.0;         ///< frames kept per second of video; > 0
  int64_t max_frames =
      32;  ///< at most this many frames, spread over the whole video; 1 .. kMaxVideoFrames
};

/// Decodes a video (any container/codec OpenCV's FFmpeg backend reads) from a local path, a file://
/// URL, an http(s) URL or a data: URI (the last three through a temporary file) and returns
/// frames sampled as transformers' default_sample_indices_fn does: n = max(1, ⌊frames / video_fps ×
/// options.fps⌋), capped at options.max_frames and at the frame count, frame indices ⌊i × frames /
/// n⌋ for i < n, counted in decode order. A video whose frame rate is unknown keeps max_frames
/// frames. Every frame is decoded in order (exact, unlike seeking); a container that overstates its
/// frame count is sampled again over the frames it really has. FFmpeg also opens a still image, as
/// a one-frame video. Throws InvalidArgumentError for bad options, IoError when the source cannot
/// be read, and ProcessorError naming `source` when it is no video OpenCV can open or has no
/// frames.
GEMMA_API std::vector<Image> load_video_frames(std::string_view source,
                                               const VideoOptions& options = {},
                                               const MediaLimits& limits = {});

}  // namespace gemma
