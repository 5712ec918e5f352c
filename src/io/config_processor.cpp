#include <cmath>

#include "io/config_parse.h"

namespace gemma {

namespace fs = std::filesystem;
// The checks, loaders and readers shared by the config files (io/config_parse.h).
using namespace io;

namespace {

// image_mean / image_std: a list per channel, or one number for all three.
std::vector<double> read_channel_values(const JsonObject& o, std::string_view key,
                                        std::vector<double> fallback) {
  if (!o.has(key)) return fallback;
  const JsonValue value = o.at(key);
  if (value.raw().is_array()) return value.as_double_list();
  return std::vector<double>(3, value.as_double());
}

ImageSize read_image_size(const JsonObject& o, ImageSize fallback) {
  const auto size = o.child("size");
  if (!size) return fallback;
  // Other processors use {"shortest_edge"} or a bare int; SigLIP resizes to an exact box.
  if (!size->contains("height") || !size->contains("width")) {
    size->fail_here(
        fmt::format("expected {{\"height\", \"width\"}}, got {}", io::describe_json(size->raw())));
  }
  return {size->get_int("height", 0), size->get_int("width", 0)};
}

// Gemma3nAudioFeatureExtractor.__init__: int(round(sampling_rate * ms / 1000.0)); Python's round
// is half-to-even, as nearbyint under the default rounding mode.
int64_t samples_for_ms(const JsonObject& o, std::string_view key, int64_t sampling_rate,
                       double ms) {
  const double samples = std::nearbyint(static_cast<double>(sampling_rate) * ms / 1000.0);
  if (!(samples >= 1.0 && samples <= static_cast<double>(kMaxFrameSamples))) {
    o.fail(key, fmt::format("{} ms at {} Hz gives {} samples, expected 1 to {}", ms, sampling_rate,
                            samples, kMaxFrameSamples));
  }
  return static_cast<int64_t>(samples);
}

std::optional<std::vector<double>> read_optional_doubles(const JsonObject& o,
                                                         std::string_view key) {
  if (!o.has(key)) return std::nullopt;
  return o.at(key).as_double_list();
}

}  // namespace

ImageProcessorConfig io::read_image_processor(const JsonObject& o) {
  ImageProcessorConfig c;
  c.do_resize = o.get_bool("do_resize", c.do_resize);
  c.size = read_image_size(o, c.size);
  c.resample = o.get_int("resample", c.resample);
  c.do_rescale = o.get_bool("do_rescale", c.do_rescale);
  c.rescale_factor = o.get_double("rescale_factor", c.rescale_factor);
  c.do_normalize = o.get_bool("do_normalize", c.do_normalize);
  c.image_mean = read_channel_values(o, "image_mean", c.image_mean);
  c.image_std = read_channel_values(o, "image_std", c.image_std);
  c.do_convert_rgb = o.get_bool("do_convert_rgb", c.do_convert_rgb);
  c.image_processor_type = o.get_string("image_processor_type", c.image_processor_type);
  return c;
}
AudioFeatureConfig io::read_audio_features(const JsonObject& o) {
  AudioFeatureConfig c;
  c.feature_size = o.get_int("feature_size", c.feature_size);
  c.sampling_rate = o.get_int("sampling_rate", c.sampling_rate);
  c.padding_value = o.get_double("padding_value", c.padding_value);
  c.return_attention_mask = o.get_bool("return_attention_mask", c.return_attention_mask);
  c.frame_length_ms = o.get_double("frame_length_ms", c.frame_length_ms);
  c.hop_length_ms = o.get_double("hop_length_ms", c.hop_length_ms);
  Checker(o.source(), o.path()).positive("sampling_rate", c.sampling_rate);
  c.frame_length = samples_for_ms(o, "frame_length_ms", c.sampling_rate, c.frame_length_ms);
  c.hop_length = samples_for_ms(o, "hop_length_ms", c.sampling_rate, c.hop_length_ms);
  c.min_frequency = o.get_double("min_frequency", c.min_frequency);
  c.max_frequency = o.get_double("max_frequency", c.max_frequency);
  c.preemphasis = o.get_double("preemphasis", c.preemphasis);
  c.preemphasis_htk_flavor = o.get_bool("preemphasis_htk_flavor", c.preemphasis_htk_flavor);
  c.fft_overdrive = o.get_bool("fft_overdrive", c.fft_overdrive);
  // 2 ** ceil(log2(frame_length)), doubled by fft_overdrive.
  c.fft_length = 1;
  while (c.fft_length < c.frame_length) c.fft_length *= 2;
  if (c.fft_overdrive) c.fft_length *= 2;
  c.dither = o.get_double("dither", c.dither);
  c.input_scale_factor = o.get_double("input_scale_factor", c.input_scale_factor);
  c.mel_floor = o.get_double("mel_floor", c.mel_floor);
  c.per_bin_mean = read_optional_doubles(o, "per_bin_mean");
  c.per_bin_stddev = read_optional_doubles(o, "per_bin_stddev");
  c.padding = o.get_string("padding", c.padding);
  c.max_length = o.get_int("max_length", c.max_length);
  c.truncation = o.get_bool("truncation", c.truncation);
  c.pad_to_multiple_of = o.get_int("pad_to_multiple_of", c.pad_to_multiple_of);
  c.feature_extractor_type = o.get_string("feature_extractor_type", c.feature_extractor_type);
  return c;
}
ProcessorConfig io::read_processor_config(const JsonObject& o) {
  ProcessorConfig c;
  c.image_seq_length = o.get_int("image_seq_length", c.image_seq_length);
  c.audio_seq_length = o.get_int("audio_seq_length", c.audio_seq_length);
  return c;
}

void ImageProcessorConfig::validate(std::string_view source, std::string_view json_path) const {
  const Checker check(source, json_path);
  check.positive("size.height", size.height);
  check.positive("size.width", size.width);
  // PIL.Image.Resampling: NEAREST 0, LANCZOS 1, BILINEAR 2, BICUBIC 3, BOX 4, HAMMING 5.
  if (resample < 0 || resample > 5) {
    check.fail("resample", fmt::format("must be a PIL filter code in [0, 5], got {}", resample));
  }
  check.positive("rescale_factor", rescale_factor);
  check.length("image_mean", image_mean.size(), 3, "the RGB channel count");
  check.length("image_std", image_std.size(), 3, "the RGB channel count");
  for (size_t i = 0; i < image_std.size(); ++i) {
    check.positive(io::index_path("image_std", i), image_std[i]);
  }
}

void AudioFeatureConfig::validate(std::string_view source, std::string_view json_path) const {
  const Checker check(source, json_path);
  check.positive("feature_size", feature_size);
  check.positive("sampling_rate", sampling_rate);
  check.positive("frame_length_ms", frame_length_ms);
  check.positive("hop_length_ms", hop_length_ms);
  check.positive("frame_length", frame_length);
  check.positive("hop_length", hop_length);
  if (fft_length < frame_length || (fft_length & (fft_length - 1)) != 0) {
    check.fail("fft_length", fmt::format("must be a power of two >= frame_length = {}, got {}",
                                         frame_length, fft_length));
  }
  check.non_negative("min_frequency", min_frequency);
  if (!(max_frequency > min_frequency)) {
    check.fail("max_frequency",
               fmt::format("must be > min_frequency = {}, got {}", min_frequency, max_frequency));
  }
  if (!(preemphasis >= 0.0 && preemphasis <= 1.0)) {
    check.fail("preemphasis", fmt::format("must be in [0, 1], got {}", preemphasis));
  }
  check.non_negative("dither", dither);
  check.positive("mel_floor", mel_floor);
  if (per_bin_mean) {
    check.length("per_bin_mean", per_bin_mean->size(), feature_size, "feature_size");
  }
  if (per_bin_stddev) {
    check.length("per_bin_stddev", per_bin_stddev->size(), feature_size, "feature_size");
    for (size_t i = 0; i < per_bin_stddev->size(); ++i) {
      check.positive(io::index_path("per_bin_stddev", i), (*per_bin_stddev)[i]);
    }
  }
  check.one_of("padding", padding, {"longest", "max_length", "do_not_pad"});
  check.positive("max_length", max_length);
  check.positive("pad_to_multiple_of", pad_to_multiple_of);
}

void ProcessorConfig::validate(std::string_view source) const {
  const Checker check(source, "");
  check.positive("image_seq_length", image_seq_length);
  check.positive("audio_seq_length", audio_seq_length);
}

ImageProcessorConfig parse_image_processor_config(std::string_view json_text,
                                                  std::string_view source_name) {
  return parse_flat<ImageProcessorConfig>(json_text, source_name, read_image_processor);
}

AudioFeatureConfig parse_audio_feature_config(std::string_view json_text,
                                              std::string_view source_name) {
  return parse_flat<AudioFeatureConfig>(json_text, source_name, read_audio_features);
}

ProcessorConfig parse_processor_config(std::string_view json_text, std::string_view source_name) {
  return parse_flat<ProcessorConfig>(json_text, source_name, read_processor_config);
}

ImageProcessorConfig load_image_processor_config(const fs::path& model_dir) {
  return load_processor_section(model_dir, "image_processor", read_image_processor)
      .value_or(ImageProcessorConfig{});
}

AudioFeatureConfig load_audio_feature_config(const fs::path& model_dir) {
  return load_processor_section(model_dir, "feature_extractor", read_audio_features)
      .value_or(AudioFeatureConfig{});
}

ProcessorConfig load_processor_config(const fs::path& model_dir) {
  const auto loaded = load_optional_json(model_dir / "processor_config.json");
  if (!loaded) return {};
  ProcessorConfig config = read_processor_config(JsonObject(loaded->doc, loaded->source, ""));
  config.validate(loaded->source);
  return config;
}

}  // namespace gemma
