#pragma once
/// Caps on media input (images, audio, video), so that no file, URL or data: URI can hang gemma or
/// exhaust its memory: a source over a cap is refused with a gemma::Error naming it, before the
/// work it would cost is done where the cap can be checked first (file sizes, image headers, video
/// frame sizes). docs/limits.md lists every cap gemma applies, these included.
#include <cstdint>

namespace gemma {

struct MediaLimits {
  /// Encoded bytes of one image, audio or video: a file, an http(s) download or a data: URI's
  /// payload. 512 MiB.
  std::uint64_t max_bytes = std::uint64_t{512} << 20;
  /// Pixels (width × height) of one image or video frame, read from the header before decoding:
  /// PIL's DecompressionBombError threshold (2 × Image.MAX_IMAGE_PIXELS), so that gemma refuses
  /// what transformers' load_image refuses.
  std::int64_t max_image_pixels = 178'956'970;
  /// Pixels decoded for one Processor::apply_chat_template call, over all its images and sampled
  /// video frames: 2^28 (about 268 million: eleven 24-megapixel photos, or 32 frames of 8K video).
  /// Each image is reduced to the processor's size right after decoding, so memory holds one
  /// full-size image at a time; this bounds the decoding work of a request.
  std::int64_t max_request_pixels = std::int64_t{1} << 28;
  /// Seconds for one http(s) download, connecting included (at most 30 s of it to connect): 120.
  double http_timeout_seconds = 120;
  /// Redirects followed by one download: 5.
  int max_redirects = 5;
  /// Seconds for decoding one video (sampling decodes every frame in order): 120.
  double video_timeout_seconds = 120;
};

}  // namespace gemma
