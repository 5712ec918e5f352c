#pragma once
/// Gemma 3n's log-mel feature extractor (transformers' `Gemma3nAudioFeatureExtractor`).
#include <ATen/core/Tensor.h>

#include <vector>

#include "gemma/audio.h"
#include "gemma/config.h"
#include "gemma/export.h"

namespace gemma {

/// Output of AudioFeatureExtractor::extract(), on the CPU.
struct AudioFeatures {
  at::Tensor input_features;       ///< [N, frames, feature_size] float32 log-mel spectrograms
  at::Tensor input_features_mask;  ///< [N, frames] bool, true = frame of real audio (not padding)
};

/// `Gemma3nAudioFeatureExtractor.__call__(clips)` with the call settings of the config (defaults:
/// padding "longest", pad_to_multiple_of 128, truncation at max_length = 480000 samples, attention
/// mask returned). Immutable; extract() may run on several threads at once.
class GEMMA_API AudioFeatureExtractor {
 public:
  /// Throws ConfigError if `config` fails AudioFeatureConfig::validate().
  explicit AudioFeatureExtractor(AudioFeatureConfig config);

  /// Log-mel features of a batch. Each clip is cut to max_length samples (rounded up to a multiple
  /// of pad_to_multiple_of) when truncation is on, then all are right-padded with padding_value to
  /// a common length (padding "longest": the longest clip; "max_length": max_length; both rounded
  /// up to a multiple of pad_to_multiple_of). Frames are frame_length + 1 samples every hop_length
  /// samples (no centring); frame i of a clip is valid iff sample i × hop_length is real audio.
  /// Throws ProcessorError for an empty batch, a clip without samples, a sample rate other than
  /// config().sampling_rate, NaN/Inf samples, clips whose padded length holds no frame, or clips of
  /// different lengths with padding "do_not_pad".
  AudioFeatures extract(const std::vector<Audio>& clips) const;

  const AudioFeatureConfig& config() const { return config_; }
  /// The HTK mel filterbank [fft_length / 2 + 1, feature_size], float64 (transformers'
  /// `create_fb_matrix(..., norm=None)`).
  const at::Tensor& mel_filters() const { return mel_filters_; }
  /// Periodic Hann window [frame_length], float32.
  const at::Tensor& window() const { return window_; }

 private:
  at::Tensor spectrogram(at::Tensor waveform) const;

  AudioFeatureConfig config_;
  at::Tensor mel_filters_;
  at::Tensor window_;
  at::Tensor per_bin_mean_;    // [feature_size] float64; undefined when the config has none
  at::Tensor per_bin_stddev_;  // likewise
};

}  // namespace gemma
