#pragma once
// The steps between decoded samples and an Audio, shared by decode_audio (libsndfile) and
// audio_from_samples (caller's samples): limits, NaN checks, mixdown and resampling, each matching
// transformers' `_load_audio_soundfile` bit for bit.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "gemma/audio.h"

namespace gemma::media {

// InvalidArgumentError unless target_rate > 0 and options.max_seconds > 0.
void check_load_arguments(int64_t target_rate, const AudioLoadOptions& options,
                          std::string_view name);

// ProcessorError naming `name` if `frames` at `sample_rate` last longer than options.max_seconds
// or are more than options.max_samples.
void check_duration(int64_t frames, int64_t sample_rate, const AudioLoadOptions& options,
                    std::string_view name);

// ProcessorError naming `name` if resampling `frames` to `target_rate` makes more than
// options.max_samples.
void check_resampled_length(int64_t frames, int64_t sample_rate, int64_t target_rate,
                            const AudioLoadOptions& options, std::string_view name);

// ProcessorError naming `name` and the first offending sample if any is NaN or infinite.
void check_finite(std::span<const float> samples, int64_t sample_rate, std::string_view name);

// Appends the channel mean of each interleaved frame to `mono`.
void append_mono(std::span<const float> interleaved, int64_t channels, std::vector<float>& mono);

// Resamples `mono` (non-empty, finite) and returns the Audio at `target_rate`.
Audio resample_mono(std::vector<float> mono, int64_t sample_rate, int64_t target_rate,
                    std::string_view name);

}  // namespace gemma::media
