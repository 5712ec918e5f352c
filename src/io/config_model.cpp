#include "io/config_parse.h"

namespace gemma {

namespace fs = std::filesystem;
// The checks, loaders and readers shared by the config files (io/config_parse.h).
using namespace io;

namespace {

void check_seq_length(const std::string& source, std::string_view field, int64_t processor_value,
                      std::string_view model_field, int64_t model_value) {
  if (processor_value == model_value) return;
  io::fail_config(source, field,
                  fmt::format("{} does not match config.json {} = {}", processor_value, model_field,
                              model_value));
}

}  // namespace

ModelConfig io::read_model_config(const JsonObject& root) {
  ModelConfig m;
  if (!root.has("model_type")) {
    root.fail("model_type",
              fmt::format("missing; expected \"{}\" or \"{}\"", kGemma3n, kGemma3nText));
  }
  m.model_type = root.at("model_type").as_string();
  if (m.model_type == kGemma3nText) {
    m.text = read_text_config(root);
    m.has_vision = false;
    m.has_audio = false;
    m.eos_token_id = m.text.eos_token_id;
    m.tie_word_embeddings = m.text.tie_word_embeddings;
    return m;
  }
  Checker(root.source(), "").one_of("model_type", m.model_type, {kGemma3n, kGemma3nText});
  if (const auto text = root.child("text_config")) m.text = read_text_config(*text);
  if (const auto vision = root.child("vision_config")) m.vision = read_vision_config(*vision);
  if (const auto audio = root.child("audio_config")) m.audio = read_audio_config(*audio);
  m.audio_soft_tokens_per_image =
      root.get_int("audio_soft_tokens_per_image", m.audio_soft_tokens_per_image);
  m.vision_soft_tokens_per_image =
      root.get_int("vision_soft_tokens_per_image", m.vision_soft_tokens_per_image);
  m.boi_token_id = root.get_int("boi_token_id", m.boi_token_id);
  m.eoi_token_id = root.get_int("eoi_token_id", m.eoi_token_id);
  m.image_token_id = root.get_int("image_token_id", m.image_token_id);
  m.boa_token_id = root.get_int("boa_token_id", m.boa_token_id);
  m.eoa_token_id = root.get_int("eoa_token_id", m.eoa_token_id);
  m.audio_token_id = root.get_int("audio_token_id", m.audio_token_id);
  m.eos_token_id = root.get_token_ids("eos_token_id", m.eos_token_id);
  m.tie_word_embeddings = root.get_bool("tie_word_embeddings", m.tie_word_embeddings);
  return m;
}

void ModelConfig::validate(std::string_view source) const {
  const Checker root(source, "");
  root.one_of("model_type", model_type, {kGemma3n, kGemma3nText});
  const bool multimodal = model_type == kGemma3n;
  text.validate(source, multimodal ? "text_config" : "");
  const int64_t vocab = text.vocab_size;
  const std::string vocab_name = multimodal ? "text_config.vocab_size" : "vocab_size";
  for (size_t i = 0; i < eos_token_id.size(); ++i) {
    root.token_id(io::index_path("eos_token_id", i), eos_token_id[i], vocab, vocab_name);
  }
  if (!multimodal) return;

  root.positive("audio_soft_tokens_per_image", audio_soft_tokens_per_image);
  root.positive("vision_soft_tokens_per_image", vision_soft_tokens_per_image);
  const std::pair<const char*, int64_t> multimodal_ids[] = {
      {"boi_token_id", boi_token_id},     {"eoi_token_id", eoi_token_id},
      {"image_token_id", image_token_id}, {"boa_token_id", boa_token_id},
      {"eoa_token_id", eoa_token_id},     {"audio_token_id", audio_token_id}};
  for (size_t i = 0; i < std::size(multimodal_ids); ++i) {
    const auto& [field, id] = multimodal_ids[i];
    root.token_id(field, id, vocab, vocab_name);
    // One id for two roles would put image features at audio placeholders (or the reverse).
    for (size_t j = 0; j < i; ++j) {
      if (multimodal_ids[j].second == id) {
        root.fail(field, fmt::format("{} is also {}; each special token needs its own id", id,
                                     multimodal_ids[j].first));
      }
    }
  }
  // Gemma3nModel routes ids in [vision offset, audio offset) to embed_vision and ids from the
  // audio offset on to embed_audio; each table must fit in the text vocabulary.
  const auto check_range = [&](std::string_view part, int64_t offset, int64_t size) {
    if (offset + size > vocab) {
      root.fail(io::join_path(part, "vocab_offset"),
                fmt::format("vocab_offset + vocab_size = {} + {} exceeds {} = {}", offset, size,
                            vocab_name, vocab));
    }
  };
  if (has_vision) {
    vision.validate(source, "vision_config");
    check_range("vision_config", vision.vocab_offset, vision.vocab_size);
  }
  if (has_audio) {
    audio.validate(source, "audio_config");
    check_range("audio_config", audio.vocab_offset, audio.vocab_size);
  }
  if (has_vision && has_audio && vision.vocab_offset + vision.vocab_size > audio.vocab_offset) {
    root.fail("vision_config.vocab_offset",
              fmt::format("vision ids [{}, {}) overlap audio ids starting at "
                          "audio_config.vocab_offset = {}",
                          vision.vocab_offset, vision.vocab_offset + vision.vocab_size,
                          audio.vocab_offset));
  }
}

ModelConfig parse_model_config(std::string_view json_text, std::string_view source_name) {
  return parse_flat<ModelConfig>(json_text, source_name, read_model_config);
}

ModelConfig load_model_config(const fs::path& model_dir) {
  const LoadedJson loaded = load_required_json(model_dir / "config.json");
  ModelConfig config = read_model_config(JsonObject(loaded.doc, loaded.source, ""));
  config.validate(loaded.source);
  return config;
}

ModelFiles load_model_files(const fs::path& model_dir) {
  ModelFiles files;
  files.model = load_model_config(model_dir);
  files.generation = load_generation_defaults(model_dir);
  files.image = load_image_processor_config(model_dir);
  files.audio = load_audio_feature_config(model_dir);
  files.processor = load_processor_config(model_dir);
  files.tokenizer = load_tokenizer_config(model_dir);
  load_chat_template(model_dir, files);
  const fs::path processor_path = model_dir / "processor_config.json";
  if (files.model.model_type == kGemma3n && fs::exists(processor_path)) {
    const std::string source = processor_path.string();
    if (files.model.has_vision) {
      check_seq_length(source, "image_seq_length", files.processor.image_seq_length,
                       "vision_soft_tokens_per_image", files.model.vision_soft_tokens_per_image);
    }
    if (files.model.has_audio) {
      check_seq_length(source, "audio_seq_length", files.processor.audio_seq_length,
                       "audio_soft_tokens_per_image", files.model.audio_soft_tokens_per_image);
    }
  }
  return files;
}

}  // namespace gemma
