// Gemma3nAudioFeatureExtractor (transformers/models/gemma3n/feature_extraction_gemma3n.py) with
// SequenceFeatureExtractor.pad's truncation and padding. NumPy works in float32 up to the window
// and in float64 from the mel matmul on; its float32 rfft is accurate to float64 level, which
// LibTorch's float32 FFT is not (up to 0.1 apart in the log of near-silent bins), so the FFT runs
// in float64.
#include "gemma/audio_features.h"

#include <ATen/ops/abs.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/clamp_min.h>
#include <ATen/ops/fft_rfft.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/full.h>
#include <ATen/ops/log.h>
#include <ATen/ops/lt.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/stack.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "gemma/error.h"
#include "media/audio_signal.h"

namespace gemma {

namespace {

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// np.linspace(start, stop, num), num >= 2: i * step + start, the last point exactly `stop`.
std::vector<double> linspace(double start, double stop, int64_t num) {
  const double step = (stop - start) / static_cast<double>(num - 1);
  std::vector<double> points(static_cast<size_t>(num));
  for (int64_t i = 0; i < num; ++i) points[i] = static_cast<double>(i) * step + start;
  points.back() = stop;
  return points;
}

at::Tensor to_tensor(std::vector<double> values, at::IntArrayRef shape) {
  return at::from_blob(values.data(), shape, at::kDouble).clone();
}

// create_fb_matrix(n_freqs, f_min, f_max, n_mels, sample_rate, fft_length, norm=None): HTK mel
// triangles [n_freqs, n_mels] in float64. The bin frequencies are float32 (np.arange(float32) times
// a Python float stays float32 under NumPy 2's promotion rules); everything else is float64.
at::Tensor mel_filter_bank(const AudioFeatureConfig& c) {
  const int64_t n_freqs = c.fft_length / 2 + 1;
  const int64_t n_mels = c.feature_size;
  const auto bin_hz =
      static_cast<float>(static_cast<double>(c.sampling_rate) / static_cast<double>(c.fft_length));
  std::vector<double> f_pts =
      linspace(hz_to_mel(c.min_frequency), hz_to_mel(c.max_frequency), n_mels + 2);
  for (double& f : f_pts) f = mel_to_hz(f);
  std::vector<double> fb(static_cast<size_t>(n_freqs * n_mels));
  for (int64_t k = 0; k < n_freqs; ++k) {
    const auto freq = static_cast<double>(static_cast<float>(k) * bin_hz);
    for (int64_t m = 0; m < n_mels; ++m) {
      const double down = -(f_pts[m] - freq) / (f_pts[m + 1] - f_pts[m]);
      const double up = (f_pts[m + 2] - freq) / (f_pts[m + 2] - f_pts[m + 1]);
      fb[k * n_mels + m] = std::max(0.0, std::min(down, up));
    }
  }
  return to_tensor(std::move(fb), {n_freqs, n_mels});
}

// NumPy's float32 cos (numpy/_core/src/umath/loops_trigonometric.dispatch.cpp, the FMA path that
// x86-64 CPUs since 2013 take): Cody-Waite reduction to [-π/4, π/4] and minimax polynomials,
// within 1.5 ulp of the true cosine. The window must be bit-identical: a 1-ulp change in a few
// entries moves the near-silent mel bins of a pure tone by 1e-2 in the log. NumPy's wheel fuses
// the quadrant's multiply with the rounding add (x·2/π + 1.5·2^23 in one FMA), which decides ties
// such as x = 5π/4; measured bit-identical to NumPy 2.4 (AVX-512) for every window length tried.
// Valid for |x| <= 71476.0625 (NumPy switches to libm beyond); window phases are below 2π.
float numpy_cosf(float x) {
  constexpr float kRound = 0x1.8p+23f;
  const float quadrant = std::fma(x, 0x1.45f306p-1f, kRound) - kRound;  // rint(x · 2/π)
  float r = std::fma(quadrant, -0x1.921fb0p+00f, x);
  r = std::fma(quadrant, -0x1.5110b4p-22f, r);
  r = std::fma(quadrant, -0x1.846988p-48f, r);
  const float r2 = r * r;
  float cos_r = std::fma(0x1.98e616p-16f, r2, -0x1.6c06dcp-10f);
  cos_r = std::fma(cos_r, r2, 0x1.55553cp-05f);
  cos_r = std::fma(cos_r, r2, -0x1.000000p-01f);
  cos_r = std::fma(cos_r, r2, 0x1.000000p+00f);
  float sin_r = std::fma(0x1.7d3bbcp-19f, r2, -0x1.a06bbap-13f);
  sin_r = std::fma(sin_r, r2, 0x1.11119ap-07f);
  sin_r = std::fma(sin_r, r2, -0x1.555556p-03f);
  sin_r = std::fma(sin_r, r2, 0.0f);
  sin_r = std::fma(sin_r, r, r);
  const int k = static_cast<int>(quadrant) + 1;  // cos(x) = sin(x + π/2)
  const float value = (k & 1) == 0 ? sin_r : cos_r;
  return (k & 2) != 0 ? 0.0f - value : value;
}

// Periodic Hann window 0.5 (1 − cos(2π n / N)), evaluated in float32 as NumPy does on a float32
// arange (2π is rounded to float32 first).
at::Tensor hann_window(int64_t length) {
  std::vector<float> w(static_cast<size_t>(length));
  const auto two_pi = static_cast<float>(2.0 * std::numbers::pi);
  for (int64_t n = 0; n < length; ++n) {
    const float phase = two_pi * static_cast<float>(n) / static_cast<float>(length);
    w[n] = 0.5f * (1.0f - numpy_cosf(phase));
  }
  return at::from_blob(w.data(), {length}, at::kFloat).clone();
}

int64_t round_up(int64_t value, int64_t multiple) {
  return value % multiple == 0 ? value : (value / multiple + 1) * multiple;
}

// The common padded length of the batch (SequenceFeatureExtractor.pad's rules for right padding).
int64_t padded_length(const std::vector<int64_t>& lengths, const AudioFeatureConfig& c) {
  int64_t target = 0;
  if (c.padding == "longest") {
    target = round_up(*std::max_element(lengths.begin(), lengths.end()), c.pad_to_multiple_of);
  } else if (c.padding == "max_length") {
    target = round_up(c.max_length, c.pad_to_multiple_of);
  }
  const int64_t first = std::max(lengths.front(), target);
  for (size_t i = 1; i < lengths.size(); ++i) {
    if (std::max(lengths[i], target) != first) {
      throw ProcessorError(fmt::format(
          "audio feature extractor: clips 0 and {} have {} and {} samples after padding \"{}\"; "
          "a batch needs one length (use padding \"longest\")",
          i, first, std::max(lengths[i], target), c.padding));
    }
  }
  return first;
}

void check_clip(const Audio& clip, size_t index, const AudioFeatureConfig& c) {
  const std::string name = fmt::format("clip {}", index);
  if (clip.samples.empty()) {
    throw ProcessorError(fmt::format("audio feature extractor: {} has no samples", name));
  }
  if (clip.sample_rate != c.sampling_rate) {
    throw ProcessorError(fmt::format(
        "audio feature extractor: {} is sampled at {} Hz but the extractor expects {} Hz "
        "(load_audio and audio_from_samples resample to a target rate)",
        name, clip.sample_rate, c.sampling_rate));
  }
  media::check_finite(clip.samples, clip.sample_rate, name);
}

}  // namespace

AudioFeatureExtractor::AudioFeatureExtractor(AudioFeatureConfig config)
    : config_(std::move(config)) {
  config_.validate();
  mel_filters_ = mel_filter_bank(config_);
  window_ = hann_window(config_.frame_length);
  if (config_.per_bin_mean) {
    per_bin_mean_ = to_tensor(*config_.per_bin_mean, {config_.feature_size});
  }
  if (config_.per_bin_stddev) {
    per_bin_stddev_ = to_tensor(*config_.per_bin_stddev, {config_.feature_size});
  }
}

// _extract_spectrogram of one padded clip [length] → [frames, feature_size] float32.
at::Tensor AudioFeatureExtractor::spectrogram(at::Tensor waveform) const {
  const auto& c = config_;
  if (c.dither > 0.0) {
    waveform = waveform + at::randn(waveform.sizes(), at::kFloat) * static_cast<float>(c.dither);
  }
  if (c.input_scale_factor != 1.0) waveform = waveform * static_cast<float>(c.input_scale_factor);
  // Frames of frame_length + 1 samples: the HTK pre-emphasis of sample j needs sample j − 1.
  const at::Tensor raw = waveform.unfold(0, c.frame_length + 1, c.hop_length);
  const int64_t n = c.frame_length;
  const auto p = static_cast<float>(c.preemphasis);
  at::Tensor frames;
  if (c.preemphasis <= 0.0) {
    frames = raw.narrow(1, 0, n);
  } else if (c.preemphasis_htk_flavor) {
    frames = at::cat({raw.narrow(1, 0, 1) * static_cast<float>(1.0 - c.preemphasis),
                      raw.narrow(1, 1, n - 1) - raw.narrow(1, 0, n - 1) * p},
                     1);
  } else {
    frames = raw.narrow(1, 1, n) - raw.narrow(1, 0, n) * p;
  }
  frames = frames * window_;
  const at::Tensor magnitude = at::abs(at::fft_rfft(frames.to(at::kDouble), c.fft_length, -1));
  at::Tensor log_mel = at::log(at::clamp_min(at::matmul(magnitude, mel_filters_), c.mel_floor));
  if (per_bin_mean_.defined()) log_mel = log_mel - per_bin_mean_;
  if (per_bin_stddev_.defined()) log_mel = log_mel / per_bin_stddev_;
  return log_mel.to(at::kFloat);
}

AudioFeatures AudioFeatureExtractor::extract(const std::vector<Audio>& clips) const {
  const auto& c = config_;
  if (clips.empty()) throw ProcessorError("audio feature extractor: no clips in the batch");
  const int64_t cap = round_up(c.max_length, c.pad_to_multiple_of);
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < clips.size(); ++i) {
    check_clip(clips[i], i, c);
    const auto size = static_cast<int64_t>(clips[i].samples.size());
    lengths.push_back(c.truncation ? std::min(size, cap) : size);
  }
  const int64_t length = padded_length(lengths, c);
  if (length < c.frame_length + 1) {
    throw ProcessorError(fmt::format(
        "audio feature extractor: {} samples ({} ms, padded) hold no analysis frame of {} samples",
        length, 1000.0 * static_cast<double>(length) / static_cast<double>(c.sampling_rate),
        c.frame_length + 1));
  }
  const int64_t n_frames = (length - c.frame_length - 1) / c.hop_length + 1;
  const at::Tensor frame_starts = at::arange(n_frames, at::kLong) * c.hop_length;
  std::vector<at::Tensor> features;
  std::vector<at::Tensor> masks;
  for (size_t i = 0; i < clips.size(); ++i) {
    at::Tensor waveform = at::full({length}, static_cast<float>(c.padding_value), at::kFloat);
    // from_blob only reads the clip's samples, copying them into the padded waveform.
    waveform.narrow(0, 0, lengths[i])
        .copy_(
            at::from_blob(const_cast<float*>(clips[i].samples.data()), {lengths[i]}, at::kFloat));
    features.push_back(spectrogram(std::move(waveform)));
    // attention_mask[::hop_length][:n_frames]: frame i is valid iff sample i·hop is real audio.
    masks.push_back(at::lt(frame_starts, lengths[i]));
  }
  return AudioFeatures{at::stack(features), at::stack(masks)};
}

}  // namespace gemma
