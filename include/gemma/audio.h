#pragma once
/// Audio input: decoding and resampling exactly as transformers' `load_audio(...,
/// backend="soundfile")` does (libsndfile float32 decode, channel mean, libsoxr "soxr_hq") and
/// splitting long recordings into 30 s clips. No LibTorch type appears here:
/// gemma/audio_features.h holds Gemma 3n's log-mel feature extractor.
///
/// Every function throws a gemma::Error naming the input and the problem; none aborts.
#include <cstdint>
#include <string_view>
#include <vector>

#include "gemma/export.h"
#include "gemma/media_limits.h"

namespace gemma {

/// A mono waveform. Samples are float32, nominally in [-1, 1] (libsndfile's normalised scale),
/// `sample_rate` in Hz. Owns its samples.
struct Audio {
  std::vector<float> samples;  ///< one per sample, in time order
  int64_t sample_rate = 0;     ///< Hz

  /// samples.size() / sample_rate, in seconds (0 if sample_rate is 0).
  double duration_seconds() const {
    return sample_rate > 0 ? static_cast<double>(samples.size()) / static_cast<double>(sample_rate)
                           : 0.0;
  }
};

/// Limits applied while loading.
struct AudioLoadOptions {
  /// Longest input accepted, in seconds of the source (before resampling). A longer file is refused
  /// with a ProcessorError before any sample is decoded (the length comes from the file header, and
  /// decoding stops there even if the header understates it). Must be > 0.
  double max_seconds = 3600.0;
  /// Most samples per channel decoded, and produced by resampling: 2^28, so that memory stays
  /// under 1 GiB of float32 whatever the rates (an hour of silence at 655 kHz compresses to a
  /// small FLAC file and would decode to 9 GB). Channels are mixed down block by block. Must be >
  /// 0.
  int64_t max_samples = int64_t{1} << 28;
};

/// Reads `source` — a local path, a file:// URL, an http(s) URL or a data: URI, as the `path`/`url`
/// fields of transformers' chat messages accept them — within `limits` (size, and for URLs time
/// and redirects), and decodes it with decode_audio(). Throws IoError when the source cannot be
/// read or passes a limit, otherwise as decode_audio().
GEMMA_API Audio load_audio(std::string_view source, int64_t target_rate,
                           const AudioLoadOptions& options = {}, const MediaLimits& limits = {});

/// Decodes an encoded file held in memory (`bytes`, not copied) with libsndfile: every format the
/// installed libsndfile reads (WAV, AIFF, FLAC, OGG/Vorbis, OGG/Opus, MP3 with libsndfile >= 1.1,
/// ...). Samples are decoded as float32, channels are averaged to mono, and the result is resampled
/// to `target_rate` Hz as audio_from_samples() does. `name` identifies the input in error messages.
/// Throws InvalidArgumentError (target_rate <= 0, max_seconds <= 0), UnsupportedError (MP4/M4A,
/// WebM, AAC or AMR, which transformers decodes only through torchcodec, or an encoding libsndfile
/// reports as unsupported) or ProcessorError (empty input, not audio, corrupt data, no samples,
/// NaN/Inf samples, longer than options.max_seconds).
GEMMA_API Audio decode_audio(std::string_view bytes, std::string_view name, int64_t target_rate,
                             const AudioLoadOptions& options = {});

/// Builds an Audio from raw float32 samples: `samples` is interleaved (frame-major, `channels`
/// values per frame) at `sample_rate` Hz. Channels are averaged to mono exactly as NumPy's
/// `waveform.mean(axis=0)` on float32 does, then, if `sample_rate != target_rate`, the signal is
/// resampled with libsoxr at "soxr_hq" quality, fed to libsoxr in the same blocks as python-soxr's
/// `soxr.resample`, and padded with zeros or cut to ceil(frames × target_rate / sample_rate)
/// samples, as transformers' load_audio does. Throws InvalidArgumentError (rates or channels <= 0,
/// a sample count that is not a multiple of `channels`) or ProcessorError (no samples, NaN/Inf,
/// longer than options.max_seconds).
GEMMA_API Audio audio_from_samples(std::vector<float> samples, int64_t sample_rate,
                                   int64_t channels, int64_t target_rate,
                                   const AudioLoadOptions& options = {});

/// What to do with audio longer than the feature extractor's window (30 s).
enum class LongAudio {
  kSplit,     ///< consecutive clips; see split_long_audio()
  kTruncate,  ///< keep the first max_samples samples (what the feature extractor itself does)
  kError,     ///< refuse with a ProcessorError
};

/// Cuts `audio` into consecutive, non-overlapping clips of exactly `max_samples` samples, the last
/// one holding the remainder (1 .. max_samples samples); audio of at most `max_samples` samples is
/// one clip. Exactly 30 s at 16 kHz (480000 samples, the extractor's max_length) is one clip,
/// 480001 samples are two (480000 + 1). kTruncate returns the first clip only; kError returns the
/// single clip or throws a ProcessorError naming the duration and the limit. Every clip keeps the
/// sample rate. A remainder shorter than one analysis frame (513 samples at 16 kHz) is still a
/// clip: the extractor accepts it batched with longer clips (it is padded to their length), not
/// alone. Throws InvalidArgumentError if `max_samples` <= 0 or `audio` has no samples.
GEMMA_API std::vector<Audio> split_long_audio(const Audio& audio, int64_t max_samples,
                                              LongAudio policy = LongAudio::kSplit);

}  // namespace gemma
