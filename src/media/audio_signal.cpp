#include "media/audio_signal.h"

#include <fmt/format.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "gemma/error.h"

namespace gemma::media {

namespace {

// NumPy's pairwise_sum for float32 (numpy/_core/src/umath/loops_utils.h.src): `mean(axis=0)` over
// the channels of soundfile's [frames, channels] array reduces each frame with it, in float32.
// Plain left-to-right addition differs from it in the last bit from 8 channels on.
float numpy_pairwise_sum(const float* a, int64_t n) {
  constexpr int64_t kBlock = 128;  // PW_BLOCKSIZE
  if (n < 8) {
    float sum = -0.0f;
    for (int64_t i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  if (n <= kBlock) {
    float r[8];
    std::copy(a, a + 8, r);
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    float sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  int64_t half = n / 2;
  half -= half % 8;
  return numpy_pairwise_sum(a, half) + numpy_pairwise_sum(a + half, n - half);
}

struct SoxrDeleter {
  void operator()(soxr_t s) const { soxr_delete(s); }
};

// ceil(frames × to / from) without overflow: the length transformers pads or cuts the output to.
int64_t resampled_length(int64_t frames, int64_t from, int64_t to) {
  const int64_t whole = frames / from * to;
  const int64_t rest = frames % from * to;
  return whole + (rest + from - 1) / from;
}

std::string seconds(double s) { return fmt::format("{:.6g} s", s); }

// The most frames of a `sample_rate` source that options.max_seconds allows.
int64_t max_frames(int64_t sample_rate, const AudioLoadOptions& options) {
  const double frames = std::floor(options.max_seconds * static_cast<double>(sample_rate));
  return frames >= 9.0e18 ? INT64_MAX : static_cast<int64_t>(frames);
}

}  // namespace

void check_load_arguments(int64_t target_rate, const AudioLoadOptions& options,
                          std::string_view name) {
  if (target_rate <= 0) {
    throw InvalidArgumentError(
        fmt::format("audio {}: target sample rate must be positive, got {}", name, target_rate));
  }
  if (!(options.max_seconds > 0.0) || options.max_samples <= 0) {
    throw InvalidArgumentError(
        fmt::format("audio {}: max_seconds and max_samples must be positive, got {} and {}", name,
                    options.max_seconds, options.max_samples));
  }
}

void check_duration(int64_t frames, int64_t sample_rate, const AudioLoadOptions& options,
                    std::string_view name) {
  if (frames > max_frames(sample_rate, options)) {
    throw ProcessorError(fmt::format(
        "audio {}: {} ({} frames at {} Hz) exceeds the limit of {} (AudioLoadOptions::max_seconds)",
        name, seconds(static_cast<double>(frames) / static_cast<double>(sample_rate)), frames,
        sample_rate, seconds(options.max_seconds)));
  }
  if (frames > options.max_samples) {
    throw ProcessorError(
        fmt::format("audio {}: {} frames at {} Hz exceed the {} samples gemma decodes "
                    "(AudioLoadOptions::max_samples)",
                    name, frames, sample_rate, options.max_samples));
  }
}

void check_resampled_length(int64_t frames, int64_t sample_rate, int64_t target_rate,
                            const AudioLoadOptions& options, std::string_view name) {
  const double out = static_cast<double>(frames) * static_cast<double>(target_rate) /
                     static_cast<double>(sample_rate);
  if (out > static_cast<double>(options.max_samples)) {
    throw ProcessorError(fmt::format(
        "audio {}: {} frames at {} Hz resample to {:.0f} samples at {} Hz, more than {} "
        "(AudioLoadOptions::max_samples)",
        name, frames, sample_rate, out, target_rate, options.max_samples));
  }
}

void check_finite(std::span<const float> samples, int64_t sample_rate, std::string_view name) {
  const auto bad =
      std::find_if(samples.begin(), samples.end(), [](float v) { return !std::isfinite(v); });
  if (bad == samples.end()) return;
  const auto index = static_cast<int64_t>(bad - samples.begin());
  throw ProcessorError(fmt::format("audio {}: sample {} (at {}) is {}", name, index,
                                   seconds(static_cast<double>(index) / sample_rate),
                                   std::isnan(*bad) ? "NaN" : "infinite"));
}

void append_mono(std::span<const float> interleaved, int64_t channels, std::vector<float>& mono) {
  const auto frames = static_cast<int64_t>(interleaved.size()) / channels;
  mono.reserve(mono.size() + frames);
  if (channels == 1) {
    mono.insert(mono.end(), interleaved.begin(), interleaved.end());
    return;
  }
  // NumPy divides the float32 sum by the count in float64 and rounds back, which equals a float32
  // division (double rounding is exact for division when 53 >= 2 × 24 + 2).
  const auto count = static_cast<double>(channels);
  for (int64_t f = 0; f < frames; ++f) {
    const float sum = numpy_pairwise_sum(interleaved.data() + f * channels, channels);
    mono.push_back(static_cast<float>(static_cast<double>(sum) / count));
  }
}

// transformers' `_load_audio_soundfile` resamples with `soxr.resample(x, src, dst,
// quality="soxr_hq")`. python-soxr creates one libsoxr resampler (float32 I/O, SOXR_HQ, flags 0,
// default runtime), feeds it blocks of max(1000, 48000 × src / dst) input frames into an output
// buffer of src-frames × dst / src + 1 frames, then flushes; transformers then pads or cuts the
// result to ceil(frames × dst / src). libsoxr's output depends on none of the blocking, but the
// buffer size caps the flush, so both are reproduced. The system libsoxr (0.1.3) and the copy
// bundled with python-soxr 1.1 give bit-identical samples.
Audio resample_mono(std::vector<float> mono, int64_t sample_rate, int64_t target_rate,
                    std::string_view name) {
  if (sample_rate == target_rate) return Audio{std::move(mono), sample_rate};
  const auto in_rate = static_cast<double>(sample_rate);
  const auto out_rate = static_cast<double>(target_rate);
  soxr_error_t error = nullptr;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  std::unique_ptr<soxr, SoxrDeleter> soxr(
      soxr_create(in_rate, out_rate, 1, &error, &io, &quality, nullptr));
  if (error != nullptr) {
    throw ProcessorError(fmt::format("audio {}: cannot resample {} Hz to {} Hz: libsoxr: {}", name,
                                     sample_rate, target_rate, error));
  }
  const size_t in_len = mono.size();
  const auto out_capacity =
      static_cast<size_t>(static_cast<double>(in_len) * out_rate / in_rate + 1);
  const auto block = static_cast<size_t>(std::max(1000.0, 48000 * in_rate / out_rate));
  std::vector<float> out(out_capacity, 0.0f);
  size_t out_pos = 0;
  size_t done = 0;
  for (size_t i = 0; i < in_len && error == nullptr; i += block) {
    error = soxr_process(soxr.get(), mono.data() + i, std::min(block, in_len - i), nullptr,
                         out.data() + out_pos, out_capacity - out_pos, &done);
    out_pos += done;
  }
  if (error == nullptr) {
    error = soxr_process(soxr.get(), nullptr, 0, nullptr, out.data() + out_pos,
                         out_capacity - out_pos, &done);
    out_pos += done;
  }
  if (error != nullptr) {
    throw ProcessorError(fmt::format("audio {}: resampling {} Hz to {} Hz failed: libsoxr: {}",
                                     name, sample_rate, target_rate, error));
  }
  out.resize(out_pos);
  out.resize(resampled_length(static_cast<int64_t>(in_len), sample_rate, target_rate), 0.0f);
  // Finite samples near FLT_MAX (a float WAV far outside [-1, 1]) overflow in the filter.
  if (std::any_of(out.begin(), out.end(), [](float v) { return !std::isfinite(v); })) {
    const auto peak = *std::max_element(
        mono.begin(), mono.end(), [](float a, float b) { return std::fabs(a) < std::fabs(b); });
    throw ProcessorError(fmt::format(
        "audio {}: resampling {} Hz to {} Hz overflows (samples reach {:g}; audio is expected "
        "within [-1, 1])",
        name, sample_rate, target_rate, peak));
  }
  return Audio{std::move(out), target_rate};
}

}  // namespace gemma::media

namespace gemma {

Audio audio_from_samples(std::vector<float> samples, int64_t sample_rate, int64_t channels,
                         int64_t target_rate, const AudioLoadOptions& options) {
  constexpr std::string_view kName = "samples";
  media::check_load_arguments(target_rate, options, kName);
  if (sample_rate <= 0 || channels <= 0) {
    throw InvalidArgumentError(fmt::format(
        "audio {}: sample rate and channel count must be positive, got {} Hz and {} channels",
        kName, sample_rate, channels));
  }
  if (samples.size() % static_cast<size_t>(channels) != 0) {
    throw InvalidArgumentError(
        fmt::format("audio {}: {} values are not a whole number of {}-channel frames", kName,
                    samples.size(), channels));
  }
  if (samples.empty()) throw ProcessorError(fmt::format("audio {}: no samples", kName));
  media::check_duration(static_cast<int64_t>(samples.size()) / channels, sample_rate, options,
                        kName);
  std::vector<float> mono;
  if (channels == 1) {
    mono = std::move(samples);
  } else {
    media::append_mono(samples, channels, mono);
  }
  // After the mixdown a NaN or infinity in any channel still shows, at its frame index.
  media::check_finite(mono, sample_rate, kName);
  media::check_resampled_length(static_cast<int64_t>(mono.size()), sample_rate, target_rate,
                                options, kName);
  return media::resample_mono(std::move(mono), sample_rate, target_rate, kName);
}

}  // namespace gemma
