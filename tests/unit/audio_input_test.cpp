// Audio input: bad inputs (each a gemma::Error naming the input), limits, mixdown and resampling
// rules, the long-audio chunking rule, and feature-extractor edge cases. Files under
// tests/data/audio/bad/ are hand-made (see README there); equality with transformers is
// tests/golden/audio_features_test.cpp.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numbers>
#include <string>

#include "gemma/audio_features.h"
#include "gemma/error.h"
#include "support/catch_torch.h"
#include "support/paths.h"
#include "util/files.h"

namespace {

using Catch::Matchers::Contains;
using gemma::Audio;
using gemma::LongAudio;

constexpr int64_t kRate = 16000;

std::string bad_file(const std::string& name) {
  return (gemma::test::data_dir() / "audio" / "bad" / name).string();
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t chunk = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 2]);
    for (size_t k = 0; k < 4; ++k) {
      out += i + k <= bytes.size() ? kAlphabet[(chunk >> (18 - 6 * k)) & 63] : '=';
    }
  }
  return out;
}

// A FLAC stream whose STREAMINFO declares `total_samples` 16-bit mono samples at `rate` Hz and that
// holds no audio frame: what a header-only check sees of a long recording.
std::string flac_header_only(uint32_t rate, uint64_t total_samples) {
  std::string out = "fLaC";
  out += '\x80';                              // last metadata block, type 0 = STREAMINFO
  out += std::string("\x00\x00\x22", 3);      // 34 bytes
  out += std::string("\x10\x00\x10\x00", 4);  // block sizes 4096
  out += std::string(6, '\0');                // frame sizes unknown
  const uint64_t packed = (uint64_t{rate} << 44) | (uint64_t{15} << 36) | total_samples;
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((packed >> shift) & 0xFF);
  out += std::string(16, '\0');  // MD5 unknown
  return out;
}

Audio ramp(int64_t samples) {
  Audio a{std::vector<float>(static_cast<size_t>(samples)), kRate};
  for (int64_t i = 0; i < samples; ++i) a.samples[i] = static_cast<float>(i % 1000) / 1000.0f;
  return a;
}

template <typename E>
void require_error(const std::function<void()>& f, const std::string& fragment1,
                   const std::string& fragment2 = "") {
  try {
    f();
    FAIL("no exception");
  } catch (const E& e) {
    CHECK_THAT(e.what(), Contains(fragment1));
    CHECK_THAT(e.what(), Contains(fragment2));
  }
}

}  // namespace

TEST_CASE("unreadable or non-audio input is an error naming it", "[unit][audio]") {
  SECTION("0 bytes in memory") {
    require_error<gemma::ProcessorError>([] { gemma::decode_audio("", "clip.wav", kRate); },
                                         "clip.wav", "0 bytes");
  }
  SECTION("an empty file") {
    const auto path = gemma::test::scratch_dir("audio_empty") / "empty.wav";
    std::ofstream(path).close();
    require_error<gemma::IoError>([&] { gemma::load_audio(path.string(), kRate); }, "empty.wav");
  }
  SECTION("a missing file") {
    require_error<gemma::IoError>([] { gemma::load_audio(bad_file("missing.wav"), kRate); },
                                  "missing.wav");
  }
  SECTION("text, not audio") {
    require_error<gemma::ProcessorError>(
        [] { gemma::load_audio(bad_file("not_audio.wav"), kRate); }, "not_audio.wav",
        "not an audio file");
  }
  SECTION("a WAV header declaring 0 channels") {
    require_error<gemma::ProcessorError>(
        [] { gemma::load_audio(bad_file("corrupt_header.wav"), kRate); }, "corrupt_header.wav");
  }
  SECTION("a WAV with an unknown codec tag") {
    require_error<gemma::ProcessorError>(
        [] { gemma::load_audio(bad_file("unsupported_codec.wav"), kRate); },
        "unsupported_codec.wav");
  }
  SECTION("an MP4/M4A container (transformers needs torchcodec for it)") {
    std::string m4a(
        "\x00\x00\x00\x20"
        "ftypM4A \x00\x00\x02\x00"
        "M4A isomiso2",
        28);
    m4a += std::string(64, '\0');
    require_error<gemma::UnsupportedError>([&] { gemma::decode_audio(m4a, "voice.m4a", kRate); },
                                           "voice.m4a", "MP4/M4A");
  }
  SECTION("a WAV without samples") {
    require_error<gemma::ProcessorError>(
        [] { gemma::load_audio(bad_file("no_samples.wav"), kRate); }, "no_samples.wav",
        "no samples");
  }
  SECTION("a float WAV holding a NaN") {
    require_error<gemma::ProcessorError>(
        [] { gemma::load_audio(bad_file("nan_float.wav"), kRate); }, "nan_float.wav", "sample 5 ");
  }
  SECTION("a target rate of 0") {
    require_error<gemma::InvalidArgumentError>([] { gemma::decode_audio("RIFF", "clip.wav", 0); },
                                               "clip.wav", "target sample rate");
  }
}

TEST_CASE("over-long audio is refused from its header, before decoding", "[unit][audio]") {
  // 8 hours declared, no sample present: only the header can have been read.
  const std::string flac = flac_header_only(kRate, uint64_t{8} * 3600 * kRate);
  require_error<gemma::ProcessorError>([&] { gemma::decode_audio(flac, "night.flac", kRate); },
                                       "night.flac", "28800 s");
  // A 1 s file against a 0.5 s limit.
  const auto sine = (gemma::test::data_dir() / "audio" / "sine440_1s_16k_mono.wav").string();
  require_error<gemma::ProcessorError>(
      [&] { gemma::load_audio(sine, kRate, {.max_seconds = 0.5}); }, "sine440_1s_16k_mono.wav",
      "limit of 0.5 s");
  CHECK(gemma::load_audio(sine, kRate, {.max_seconds = 1.0}).samples.size() == 16000);
  require_error<gemma::InvalidArgumentError>(
      [&] { gemma::load_audio(sine, kRate, {.max_seconds = 0.0}); }, "max_seconds");
  // Samples are bounded whatever the rates: an hour of silence at 655 kHz is 9 GB of floats, and
  // resampling up multiplies what was decoded.
  const std::string fast = flac_header_only(655350, uint64_t{3600} * 655350);
  require_error<gemma::ProcessorError>([&] { gemma::decode_audio(fast, "fast.flac", kRate); },
                                       "fast.flac", "AudioLoadOptions::max_samples");
  require_error<gemma::ProcessorError>(
      [&] { gemma::load_audio(sine, kRate, {.max_samples = 15999}); }, "sine440_1s_16k_mono.wav",
      "16000 frames at 16000 Hz exceed the 15999 samples");
  require_error<gemma::ProcessorError>(
      [&] { gemma::load_audio(sine, 2 * kRate, {.max_samples = 20000}); },
      "sine440_1s_16k_mono.wav", "resample to 32000 samples at 32000 Hz, more than 20000");
}

TEST_CASE("samples that overflow the resampler are refused rather than turned into NaN",
          "[unit][audio]") {
  // A float WAV at 21 Hz holding -1.7e38 (found by fuzz_audio): libsoxr's filter overflows.
  const auto path = gemma::test::data_dir().parent_path() / "fuzz" / "regressions" / "fuzz_audio" /
                    "float_near_flt_max_resamples_to_nan";
  require_error<gemma::ProcessorError>(
      [&] { gemma::decode_audio(gemma::util::read_file(path), "huge.wav", kRate); }, "huge.wav",
      "resampling 21 Hz to 16000 Hz overflows");
}

TEST_CASE("a data: URI decodes like the file", "[unit][audio]") {
  const auto path = gemma::test::data_dir() / "audio" / "chirp_0.5s_16k_mono.wav";
  const auto from_uri =
      gemma::load_audio("data:audio/wav;base64," + base64(read_bytes(path)), kRate);
  CHECK(from_uri.samples == gemma::load_audio(path.string(), kRate).samples);
}

TEST_CASE("audio_from_samples validates, mixes down and resamples", "[unit][audio]") {
  SECTION("bad arguments") {
    require_error<gemma::ProcessorError>([] { gemma::audio_from_samples({}, kRate, 1, kRate); },
                                         "no samples");
    require_error<gemma::InvalidArgumentError>(
        [] {
          gemma::audio_from_samples({0.f, 0.f, 0.f}, kRate, 2, kRate);
        },
        "3 values", "2-channel");
    require_error<gemma::InvalidArgumentError>(
        [] { gemma::audio_from_samples({0.f}, kRate, 0, kRate); }, "channel");
    require_error<gemma::InvalidArgumentError>(
        [] { gemma::audio_from_samples({0.f}, 0, 1, kRate); }, "sample rate");
    require_error<gemma::InvalidArgumentError>(
        [] { gemma::audio_from_samples({0.f}, kRate, 1, -1); }, "target sample rate");
  }
  SECTION("NaN and infinity") {
    require_error<gemma::ProcessorError>(
        [] {
          gemma::audio_from_samples({0.f, 0.f, 0.f, NAN}, kRate, 2, kRate);
        },
        "sample 1 ", "NaN");
    require_error<gemma::ProcessorError>(
        [] {
          gemma::audio_from_samples({0.f, INFINITY}, kRate, 1, kRate);
        },
        "infinite");
  }
  SECTION("duration limit") {
    require_error<gemma::ProcessorError>(
        [] {
          gemma::audio_from_samples(std::vector<float>(32002), kRate, 2, kRate, {.max_seconds = 1});
        },
        "1.00006 s", "limit of 1 s");
  }
  SECTION("channel mean, no resampling at the same rate") {
    const auto stereo = gemma::audio_from_samples({0.25f, 0.5f, -1.f, 0.f}, kRate, 2, kRate);
    CHECK(stereo.sample_rate == kRate);
    CHECK(stereo.samples == std::vector<float>{0.375f, -0.5f});
    const auto three = gemma::audio_from_samples({0.1f, 0.2f, 0.4f}, kRate, 3, kRate);
    CHECK(three.samples == std::vector<float>{((0.1f + 0.2f) + 0.4f) / 3.0f});
    // From 8 channels on NumPy sums pairwise: its mean of this frame is -0x1.23456p-6, where a
    // left-to-right float32 sum gives -0.017777774.
    const auto nine = gemma::audio_from_samples(
        {0.29f, 0.03f, 0.55f, -0.74f, -0.16f, -0.48f, 0.6f, 0.04f, -0.29f}, kRate, 9, kRate);
    CHECK(nine.samples == std::vector<float>{-0x1.23456p-6f});
  }
  SECTION("resampling keeps a tone and the length transformers pads or cuts to") {
    constexpr int64_t in_rate = 44100;
    constexpr int64_t frames = 44101;  // ceil(44101 · 16000 / 44100) = 16001
    std::vector<float> tone(frames);
    for (int64_t i = 0; i < frames; ++i) {
      tone[i] = 0.5f * static_cast<float>(std::sin(2 * std::numbers::pi * 1000.0 * i / in_rate));
    }
    const auto out = gemma::audio_from_samples(tone, in_rate, 1, kRate);
    CHECK(out.sample_rate == kRate);
    REQUIRE(out.samples.size() == 16001);
    double worst = 0;
    for (int64_t i = 1000; i < 15000; ++i) {  // away from the filter's edge effects
      const double want = 0.5 * std::sin(2 * std::numbers::pi * 1000.0 * i / kRate);
      worst = std::max(worst, std::abs(out.samples[i] - want));
    }
    CHECK(worst < 1e-3);
  }
}

TEST_CASE("long audio is cut into consecutive 30 s clips", "[unit][audio]") {
  constexpr int64_t kMax = 480000;
  SECTION("exactly 30 s is one clip") {
    const auto clips = gemma::split_long_audio(ramp(kMax), kMax);
    REQUIRE(clips.size() == 1);
    CHECK(clips[0].samples.size() == kMax);
  }
  SECTION("30 s and 1 sample are two clips, the second of one sample") {
    const auto audio = ramp(kMax + 1);
    const auto clips = gemma::split_long_audio(audio, kMax);
    REQUIRE(clips.size() == 2);
    CHECK(clips[0].samples.size() == kMax);
    REQUIRE(clips[1].samples.size() == 1);
    CHECK(clips[1].samples[0] == audio.samples[kMax]);
    CHECK(clips[1].sample_rate == kRate);
  }
  SECTION("clips are consecutive and cover the audio") {
    const auto audio = ramp(3 * 1000 + 7);
    const auto clips = gemma::split_long_audio(audio, 1000);
    REQUIRE(clips.size() == 4);
    std::vector<float> joined;
    for (const auto& c : clips) joined.insert(joined.end(), c.samples.begin(), c.samples.end());
    CHECK(joined == audio.samples);
    CHECK(clips[3].samples.size() == 7);
  }
  SECTION("short audio is one clip under every policy") {
    for (auto policy : {LongAudio::kSplit, LongAudio::kTruncate, LongAudio::kError}) {
      const auto clips = gemma::split_long_audio(ramp(100), kMax, policy);
      REQUIRE(clips.size() == 1);
      CHECK(clips[0].samples.size() == 100);
    }
  }
  SECTION("truncate keeps the first clip") {
    const auto audio = ramp(kMax + 500);
    const auto clips = gemma::split_long_audio(audio, kMax, LongAudio::kTruncate);
    REQUIRE(clips.size() == 1);
    CHECK(clips[0].samples ==
          std::vector<float>(audio.samples.begin(), audio.samples.begin() + kMax));
  }
  SECTION("error names the duration and the limit") {
    require_error<gemma::ProcessorError>(
        [] { gemma::split_long_audio(ramp(kMax + 1), kMax, LongAudio::kError); },
        "30.0001 s (480001 samples at 16000 Hz)", "30 s (480000 samples at 16000 Hz)");
  }
  SECTION("bad arguments") {
    require_error<gemma::InvalidArgumentError>([] { gemma::split_long_audio(ramp(10), 0); },
                                               "max_samples");
    require_error<gemma::InvalidArgumentError>(
        [] {
          gemma::split_long_audio(Audio{{}, kRate}, kMax);
        },
        "no samples");
  }
}

TEST_CASE("feature extractor edge cases", "[unit][audio]") {
  const gemma::AudioFeatureExtractor fe{gemma::AudioFeatureConfig{}};
  SECTION("transformers' own test: 32 mel bins on a 440 Hz sine") {
    // tests/models/gemma3n/test_feature_extraction_gemma3n.py: sin(2π·440·linspace(0, 1, 8000));
    // np.linspace(0, 1, 8000) is i · (1 / 7999).
    gemma::AudioFeatureConfig config;
    config.feature_size = 32;
    const gemma::AudioFeatureExtractor fe32{config};
    Audio sine{std::vector<float>(8000), kRate};
    for (int64_t i = 0; i < 8000; ++i) {
      sine.samples[i] =
          static_cast<float>(std::sin(2 * std::numbers::pi * 440.0 * (i * (1.0 / 7999))));
    }
    const auto out = fe32.extract({sine});
    REQUIRE(out.input_features.sizes() == at::IntArrayRef({1, 48, 32}));
    const std::vector<double> want{-5.733152, -5.337127, -4.916284, -4.378989, -3.7622747};
    for (int64_t i = 0; i < 5; ++i) {
      CHECK(std::abs(out.input_features[0][0][i].item<double>() - want[i]) <= 1e-5);
    }
  }
  SECTION("frame count and mask: frame i is valid iff sample 160·i is real") {
    // 1000 samples pad to 1024: frames start at 0, 160, ..., 480 (4 frames of 513 samples).
    const auto alone = fe.extract({ramp(1000)});
    CHECK(alone.input_features.sizes() == at::IntArrayRef({1, 4, 128}));
    CHECK(alone.input_features_mask.all().item<bool>());
    const auto batch = fe.extract({ramp(1000), ramp(161)});
    REQUIRE(batch.input_features_mask.sizes() == at::IntArrayRef({2, 4}));
    CHECK(batch.input_features_mask[1].sum().item<int64_t>() == 2);  // samples 0 and 160
    CHECK(at::equal(batch.input_features[0], alone.input_features[0]));
  }
  SECTION("a 30 s clip plus a one-sample remainder batch together") {
    const auto out = fe.extract({ramp(480000), ramp(1)});
    CHECK(out.input_features.sizes() == at::IntArrayRef({2, 2997, 128}));
    CHECK(out.input_features_mask[0].all().item<bool>());
    CHECK(out.input_features_mask[1].sum().item<int64_t>() == 1);
  }
  SECTION("truncation at max_length") {
    const auto out = fe.extract({ramp(480000 + 5000)});
    CHECK(out.input_features.sizes() == at::IntArrayRef({1, 2997, 128}));
  }
  SECTION("padding to max_length") {
    gemma::AudioFeatureConfig config;
    config.padding = "max_length";
    const auto out = gemma::AudioFeatureExtractor{config}.extract({ramp(1000)});
    CHECK(out.input_features.sizes() == at::IntArrayRef({1, 2997, 128}));
    CHECK(out.input_features_mask.sum().item<int64_t>() == 7);  // 0, 160, ..., 960
  }
  SECTION("do_not_pad needs equal lengths") {
    gemma::AudioFeatureConfig config;
    config.padding = "do_not_pad";
    const gemma::AudioFeatureExtractor unpadded{config};
    CHECK(unpadded.extract({ramp(1000)}).input_features.size(1) == 4);  // (1000 − 513) / 160 + 1
    require_error<gemma::ProcessorError>(
        [&] {
          unpadded.extract({ramp(1000), ramp(900)});
        },
        "clips 0 and 1", "do_not_pad");
  }
  SECTION("refused inputs") {
    require_error<gemma::ProcessorError>([&] { fe.extract({}); }, "no clips");
    require_error<gemma::ProcessorError>(
        [&] {
          fe.extract({ramp(10), Audio{{}, kRate}});
        },
        "clip 1", "no samples");
    require_error<gemma::ProcessorError>(
        [&] {
          fe.extract({Audio{{0.f, 0.f}, 44100}});
        },
        "44100 Hz", "16000 Hz");
    require_error<gemma::ProcessorError>(
        [&] {
          fe.extract({Audio{{0.f, NAN}, kRate}});
        },
        "clip 0", "NaN");
    require_error<gemma::ProcessorError>([&] { fe.extract({ramp(300)}); }, "384 samples",
                                         "513 samples");
  }
  SECTION("per-bin normalisation, input scaling and dither") {
    const auto base = fe.extract({ramp(4000)}).input_features.to(at::kDouble);
    gemma::AudioFeatureConfig config;
    config.per_bin_mean = std::vector<double>(128);
    config.per_bin_stddev = std::vector<double>(128);
    for (int64_t i = 0; i < 128; ++i) {
      (*config.per_bin_mean)[i] = -5.0 + 0.01 * static_cast<double>(i);
      (*config.per_bin_stddev)[i] = 2.0 + 0.02 * static_cast<double>(i);
    }
    const auto mean = at::from_blob(config.per_bin_mean->data(), {128}, at::kDouble);
    const auto stddev = at::from_blob(config.per_bin_stddev->data(), {128}, at::kDouble);
    const auto normalised = gemma::AudioFeatureExtractor{config}.extract({ramp(4000)});
    CHECK(at::allclose(normalised.input_features.to(at::kDouble), (base - mean) / stddev, 0, 1e-6));

    gemma::AudioFeatureConfig scaled;
    scaled.input_scale_factor = 2.0;
    Audio doubled = ramp(4000);
    for (float& v : doubled.samples) v *= 2.0f;
    CHECK(at::equal(gemma::AudioFeatureExtractor{scaled}.extract({ramp(4000)}).input_features,
                    fe.extract({doubled}).input_features));

    // Silence sits at log(mel_floor) everywhere; dither lifts it off the floor.
    const Audio silence{std::vector<float>(4000), kRate};
    const double floor = std::log(1e-5);
    CHECK(fe.extract({silence}).input_features.eq(static_cast<float>(floor)).all().item<bool>());
    gemma::AudioFeatureConfig dithered;
    dithered.dither = 1e-3;
    const auto noisy = gemma::AudioFeatureExtractor{dithered}.extract({silence}).input_features;
    CHECK(noisy.gt(floor + 1.0).all().item<bool>());
  }
  SECTION("a bad config is a ConfigError") {
    gemma::AudioFeatureConfig config;
    config.feature_size = 0;
    CHECK_THROWS_AS(gemma::AudioFeatureExtractor{config}, gemma::ConfigError);
  }
}
