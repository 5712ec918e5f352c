// Audio input against transformers 5.23 (tests/data/golden/processor_audio.safetensors, described
// in MANIFEST.json): Gemma3nAudioFeatureExtractor on transformers' own waveforms, and end to end
// from the files through our libsndfile + libsoxr loading versus transformers' load_audio
// (soundfile backend). Every clip MANIFEST lists is checked, by the kind of entry: a decoded file,
// a batch of clips, a synthetic waveform, a long file split into 30 s chunks.
#include "gemma/audio_features.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "support/catch_torch.h"
#include "support/golden.h"
#include "support/paths.h"

using gemma::test::load_golden;
using gemma::test::max_abs_diff;
using gemma::test::repo_path;

namespace {

constexpr const char* kGoldenFile = "processor_audio.safetensors";
constexpr int64_t kRate = 16000;
// Features of identical waveforms: float64 FFT here, NumPy's float32 one there (measured ≤ 9.6e-7,
// the float32 rounding of the log-mel values).
constexpr double kFeatureTolerance = 1e-5;
// Decoded waveforms: libsndfile 1.2.0 (system) against soundfile's bundled 1.2.2, libsoxr 0.1.3
// (system) against python-soxr's copy. Bit-identical for PCM WAV and FLAC, including the stereo
// 44.1 kHz mixdown and resampling; lossy codecs go through other builds of libvorbis / libmpg123
// (measured 1.8e-7 for OGG/Vorbis, 6e-8 for MP3).
double waveform_tolerance(const std::string& file) {
  const auto extension = std::filesystem::path(file).extension();
  return extension == ".ogg" || extension == ".mp3" ? 1e-6 : 0.0;
}

// MANIFEST's `inputs` of processor_audio.safetensors: clip name -> description.
const nlohmann::json& manifest_inputs() {
  static const nlohmann::json inputs = gemma::test::manifest_entry(kGoldenFile).at("inputs");
  return inputs;
}

const std::map<std::string, at::Tensor>& golden() {
  static const auto tensors = load_golden(kGoldenFile);
  return tensors;
}

const at::Tensor& tensor(const std::string& key) {
  INFO("golden tensor " << key);
  REQUIRE(golden().count(key) == 1);
  return golden().at(key);
}

gemma::Audio to_audio(const at::Tensor& waveform) {
  const auto w = waveform.contiguous();
  return {std::vector<float>(w.data_ptr<float>(), w.data_ptr<float>() + w.numel()), kRate};
}

at::Tensor to_tensor(const gemma::Audio& audio) {
  return at::from_blob(const_cast<float*>(audio.samples.data()),
                       {static_cast<int64_t>(audio.samples.size())}, at::kFloat);
}

const gemma::AudioFeatureExtractor& extractor() {
  static const gemma::AudioFeatureExtractor fe{gemma::AudioFeatureConfig{}};
  return fe;
}

void check_features(const gemma::AudioFeatures& got, const std::string& prefix) {
  const auto& want = tensor(prefix + ".input_features");
  const auto& want_mask = tensor(prefix + ".input_features_mask");
  REQUIRE(got.input_features.sizes() == want.sizes());
  CHECK(got.input_features.scalar_type() == at::kFloat);
  CHECK(max_abs_diff(got.input_features, want) <= kFeatureTolerance);
  CHECK(got.input_features_mask.scalar_type() == at::kBool);
  CHECK(at::equal(got.input_features_mask, want_mask));
}

bool has_waveform(const std::string& name) { return golden().count(name + ".waveform_16k") == 1; }

}  // namespace

TEST_CASE("feature extractor equals transformers on transformers' waveforms", "[golden][audio]") {
  int checked = 0;
  for (const auto& [name, input] : manifest_inputs().items()) {
    if (!has_waveform(name)) continue;
    INFO("clip " << name);
    check_features(extractor().extract({to_audio(tensor(name + ".waveform_16k"))}), name);
    ++checked;
  }
  CHECK(checked >= 5);
}

TEST_CASE("files decode, mix down and resample as transformers' load_audio", "[golden][audio]") {
  int checked = 0;
  for (const auto& [name, input] : manifest_inputs().items()) {
    if (!input.contains("file") || !has_waveform(name)) continue;
    INFO("clip " << name << " from " << input.at("file"));
    const auto audio = gemma::load_audio(repo_path(input.at("file")).string(), kRate);
    CHECK(audio.sample_rate == kRate);
    const auto& want = tensor(name + ".waveform_16k");
    REQUIRE(static_cast<int64_t>(audio.samples.size()) == want.numel());
    CHECK(max_abs_diff(to_tensor(audio), want) <= waveform_tolerance(input.at("file")));
    check_features(extractor().extract({audio}), name);
    ++checked;
  }
  CHECK(checked >= 4);
}

TEST_CASE("a batch of clips of different lengths is padded like transformers'", "[golden][audio]") {
  int checked = 0;
  for (const auto& [name, input] : manifest_inputs().items()) {
    if (!input.contains("clips")) continue;
    INFO("batch " << name);
    std::vector<gemma::Audio> clips;
    for (const auto& clip : input.at("clips")) {
      clips.push_back(to_audio(tensor(clip.get<std::string>() + ".waveform_16k")));
    }
    check_features(extractor().extract(clips), name);
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("the synthetic clip reproduces the real checkpoint's published statistics",
          "[golden][audio]") {
  const auto& input = manifest_inputs().at("synthetic_20837");
  const auto features = extractor().extract({to_audio(tensor("synthetic_20837.waveform_16k"))});
  const auto f = features.input_features.to(at::kDouble);
  const std::vector<double> got{f.mean().item<double>(), f.std().item<double>(),
                                f.min().item<double>(), f.max().item<double>()};
  // Statistics of google/gemma-3n-E2B-it's extractor on this waveform (architecture reference
  // §5.1), published to 5 decimals.
  const std::vector<double> published{-6.13652, 3.74858, -11.51293, 4.18331};
  const auto recorded = input.at("stats_mean_std_min_max").get<std::vector<double>>();
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("statistic " << i);
    CHECK(std::abs(got[i] - recorded[i]) <= 1e-5);
    CHECK(std::abs(got[i] - published[i]) <= 2e-4);
  }
  CHECK(features.input_features_mask.sum().item<int64_t>() == 128);
}

TEST_CASE("long audio splits into transformers' 30 s chunks", "[golden][audio]") {
  int checked = 0;
  for (const auto& [name, input] : manifest_inputs().items()) {
    if (!input.contains("chunks")) continue;
    INFO("clip " << name << " from " << input.at("file"));
    const auto audio = gemma::load_audio(repo_path(input.at("file")).string(), kRate);
    CHECK(static_cast<int64_t>(audio.samples.size()) == input.at("num_samples_16k").get<int64_t>());
    const int64_t limit = input.at("chunk_samples").get<int64_t>();
    CHECK(limit == extractor().config().max_length);
    const auto chunks = gemma::split_long_audio(audio, limit);
    const auto sizes = input.at("chunks").get<std::vector<size_t>>();
    REQUIRE(chunks.size() == sizes.size());
    for (size_t i = 0; i < chunks.size(); ++i) {
      INFO("chunk " << i);
      CHECK(chunks[i].samples.size() == sizes[i]);
      check_features(extractor().extract({chunks[i]}), name + ".chunk" + std::to_string(i));
    }
    // What transformers does with the whole clip: keep the first 30 s, as kTruncate does.
    const auto truncated = gemma::split_long_audio(audio, limit, gemma::LongAudio::kTruncate);
    REQUIRE(truncated.size() == 1);
    check_features(extractor().extract(truncated), name + ".chunk0");
    check_features(extractor().extract({audio}), name + ".chunk0");
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("the same audio in other containers decodes to the same signal", "[golden][audio]") {
  // Entries `same_as` another hold that clip's audio re-encoded (speech WAV → FLAC, OGG/Vorbis).
  // Signal-to-difference ratio against the reference clip's waveform, in dB: the FLAC holds the
  // WAV's 16-bit samples, so it must decode to the very same waveform (infinite); Vorbis is lossy
  // (measured 22.3 dB). A wrong channel, rate or offset gives about 0 dB.
  const std::map<std::string, double> min_snr_db{{".flac", std::numeric_limits<double>::infinity()},
                                                 {".ogg", 20.0}};
  int checked = 0;
  for (const auto& [name, input] : manifest_inputs().items()) {
    if (!input.contains("same_as")) continue;
    const std::string file = input.at("file");
    INFO("clip " << name << " from " << file << " against " << input.at("same_as"));
    const auto audio = gemma::load_audio(repo_path(file).string(), kRate);
    const auto want =
        tensor(input.at("same_as").get<std::string>() + ".waveform_16k").to(at::kDouble);
    REQUIRE(static_cast<int64_t>(audio.samples.size()) == want.numel());
    const auto noise = (to_tensor(audio).to(at::kDouble) - want).pow(2).sum().item<double>();
    const double snr_db = 10.0 * std::log10(want.pow(2).sum().item<double>() / noise);
    const auto limit = min_snr_db.find(std::filesystem::path(file).extension().string());
    REQUIRE(limit != min_snr_db.end());
    CHECK(snr_db >= limit->second);
    ++checked;
  }
  CHECK(checked >= 2);
}
