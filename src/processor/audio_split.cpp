// Long recordings. Gemma3nAudioFeatureExtractor silently keeps the first 30 s of a clip; callers
// choose instead between consecutive 30 s clips, that same truncation, or an error.
#include <fmt/format.h>

#include <algorithm>

#include "gemma/audio.h"
#include "gemma/error.h"

namespace gemma {

namespace {

std::string describe(int64_t samples, int64_t sample_rate) {
  if (sample_rate <= 0) return fmt::format("{} samples", samples);
  return fmt::format("{:.6g} s ({} samples at {} Hz)",
                     static_cast<double>(samples) / static_cast<double>(sample_rate), samples,
                     sample_rate);
}

}  // namespace

std::vector<Audio> split_long_audio(const Audio& audio, int64_t max_samples, LongAudio policy) {
  if (max_samples <= 0) {
    throw InvalidArgumentError(
        fmt::format("split_long_audio: max_samples must be positive, got {}", max_samples));
  }
  if (audio.samples.empty()) {
    throw InvalidArgumentError("split_long_audio: the audio has no samples");
  }
  const auto total = static_cast<int64_t>(audio.samples.size());
  if (total > max_samples && policy == LongAudio::kError) {
    throw ProcessorError(fmt::format("audio of {} is longer than the limit of {}",
                                     describe(total, audio.sample_rate),
                                     describe(max_samples, audio.sample_rate)));
  }
  const int64_t end = policy == LongAudio::kTruncate ? std::min(total, max_samples) : total;
  std::vector<Audio> clips;
  clips.reserve(static_cast<size_t>((end + max_samples - 1) / max_samples));
  for (int64_t start = 0; start < end; start += max_samples) {
    const auto first = audio.samples.begin() + start;
    clips.push_back(Audio{std::vector<float>(first, first + std::min(max_samples, end - start)),
                          audio.sample_rate});
  }
  return clips;
}

}  // namespace gemma
