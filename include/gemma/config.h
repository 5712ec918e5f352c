#pragma once
/// Typed, validated views of the Hugging Face files of a Gemma 3n model directory: config.json,
/// generation_config.json, preprocessor_config.json / processor_config.json, tokenizer_config.json
/// (+ special_tokens_map.json) and chat_template.jinja.
///
/// Each struct mirrors a transformers class key for key (members are named like the JSON keys) and
/// starts out holding that class's defaults, so a missing field means what it means in
/// transformers. Both transformers 4.5x and 5.x spellings are read; unknown keys are ignored. A
/// wrong type or an impossible value throws ConfigError whose message names the file and the JSON
/// path of the field, e.g. "config.json: text_config.num_attention_heads: must be > 0, got -1".
///
/// All types are plain values: copyable, comparable with ==, and safe to share between threads
/// once built.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/export.h"

namespace gemma {

// ---------------------------------------------------------------------------------------------
// Text decoder
// ---------------------------------------------------------------------------------------------

/// Attention kind of one decoder layer ("sliding_attention" / "full_attention" in layer_types).
enum class LayerType { kSlidingAttention, kFullAttention };

/// `Gemma3nTextConfig` (model_type "gemma3n_text"). Defaults are transformers' (the E4B shape).
/// Training-only keys (initializer_range, use_cache) are not kept.
struct TextConfig {
  int64_t vocab_size = 262400;                  ///< rows of embed_tokens = width of the logits
  int64_t vocab_size_per_layer_input = 262144;  ///< rows of the per-layer-embedding (PLE) table
  int64_t hidden_size = 2048;                   ///< model width D
  int64_t hidden_size_per_layer_input = 256;    ///< PLE width per layer
  /// MLP width of each layer; length num_hidden_layers. The JSON may hold one int for all layers.
  std::vector<int64_t> intermediate_size = std::vector<int64_t>(35, 16384);
  int64_t num_hidden_layers = 35;   ///< decoder layers L
  int64_t num_attention_heads = 8;  ///< query heads
  int64_t num_key_value_heads = 2;  ///< key/value heads (grouped-query attention)
  int64_t head_dim = 256;           ///< width of one attention head
  std::string hidden_activation = "gelu_pytorch_tanh";  ///< MLP and PLE-gate activation (ACT2FN)
  int64_t max_position_embeddings = 32768;              ///< longest supported sequence, in tokens
  double rms_norm_eps = 1e-6;                           ///< epsilon of every text RMSNorm
  std::optional<int64_t> pad_token_id = 0;              ///< nullopt when the JSON says null
  std::vector<int64_t> eos_token_id = {1};  ///< an int or a list in the JSON; empty for null
  std::optional<int64_t> bos_token_id = 2;  ///< nullopt when the JSON says null
  bool tie_word_embeddings = true;          ///< lm_head shares embed_tokens' weight
  /// RoPE variant of both layer types; only "default" (unscaled) is accepted. 4.5x: rope_scaling
  /// (full-attention layers only); 5.x: rope_parameters.{full,sliding}_attention.rope_type.
  std::string rope_type = "default";
  /// RoPE base of full-attention layers. 4.5x: rope_theta;
  /// 5.x: rope_parameters.full_attention.rope_theta.
  double rope_theta = 1'000'000.0;
  /// RoPE base of sliding-window layers. 4.5x: rope_local_base_freq;
  /// 5.x: rope_parameters.sliding_attention.rope_theta.
  double rope_local_base_freq = 10'000.0;
  bool attention_bias = false;     ///< q/k/v/o projections carry a bias
  double attention_dropout = 0.0;  ///< probability, training only; null reads as 0
  int64_t sliding_window = 512;    ///< keys a sliding layer attends to, including the query itself
  /// One entry per layer; when absent, full attention iff (i + 1) % 5 == 0.
  std::vector<LayerType> layer_types = default_layer_types(35);
  std::optional<double> final_logit_softcapping = 30.0;  ///< tanh cap on logits; nullopt: none
  int64_t altup_active_idx = 0;                   ///< index of the AltUp stream that is computed
  std::optional<double> altup_coef_clip = 120.0;  ///< clamp of AltUp coefficients; nullopt: none
  bool altup_correct_scale = true;    ///< scale the corrected active stream (feeds the PLE branch)
  int64_t altup_num_inputs = 4;       ///< AltUp streams
  int64_t num_kv_shared_layers = 15;  ///< the last N layers reuse K/V of earlier layers
  int64_t laurel_rank = 64;           ///< rank of the LAuReL low-rank residual
  /// Target sparsity per layer, each in [0, 1); when absent, 0.95 for the first 10 layers (none if
  /// L <= 10) and 0.0 after.
  std::vector<double> activation_sparsity_pattern = default_activation_sparsity(35);

  /// transformers' default layer_types for `num_layers` layers.
  GEMMA_API static std::vector<LayerType> default_layer_types(int64_t num_layers);
  /// transformers' default activation_sparsity_pattern for `num_layers` layers.
  GEMMA_API static std::vector<double> default_activation_sparsity(int64_t num_layers);

  /// The layer whose K/V the KV-shared layer `layer` reuses: the last layer of the same type
  /// before the shared range [num_hidden_layers - num_kv_shared_layers, L). -1 when `layer`
  /// computes its own K/V. Throws InvalidArgumentError if `layer` is not in [0, L).
  GEMMA_API int kv_shared_layer_index(int layer) const;

  /// Throws ConfigError naming `source` and the field under `json_path` ("text_config" in a
  /// multimodal config.json, "" in a text-only one) for an impossible value.
  GEMMA_API void validate(std::string_view source = "config.json",
                          std::string_view json_path = "") const;

  bool operator==(const TextConfig&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Audio encoder
// ---------------------------------------------------------------------------------------------

/// `Gemma3nAudioConfig` (model_type "gemma3n_audio"): the USM-style conformer. Same for E2B/E4B.
struct AudioConfig {
  int64_t vocab_size = 128;                  ///< rows of embed_audio's hard-token table
  int64_t vocab_offset = 262272;             ///< first token id embedded by embed_audio
  int64_t input_feat_size = 128;             ///< mel bins per input frame
  int64_t hidden_size = 1536;                ///< conformer width
  double rms_norm_eps = 1e-6;                ///< epsilon of the audio RMSNorms
  double gradient_clipping = 1e10;           ///< clamp bound inside the conformer
  int64_t conf_attention_chunk_size = 12;    ///< local-attention block size, in frames
  int64_t conf_attention_context_left = 13;  ///< left context, including the frame itself
  int64_t conf_attention_context_right = 0;  ///< right context, in frames
  double conf_attention_logit_cap = 50.0;    ///< tanh cap on attention logits
  int64_t conf_num_attention_heads = 8;      ///< conformer attention heads
  int64_t conf_num_hidden_layers = 12;       ///< conformer blocks
  int64_t conf_conv_kernel_size = 5;         ///< light-conv depthwise kernel, in frames
  int64_t conf_reduction_factor = 4;         ///< output time decimation
  double conf_residual_weight = 0.5;         ///< weight of the feed-forward residuals
  /// Output channels of the two subsampling convolutions.
  std::vector<int64_t> sscp_conv_channel_size = {128, 32};
  double sscp_conv_group_norm_eps = 1e-3;  ///< epsilon of the cumulative group norm
  /// Per subsampling conv: {time, frequency} kernel size.
  std::vector<std::vector<int64_t>> sscp_conv_kernel_size = {{3, 3}, {3, 3}};
  /// Per subsampling conv: {time, frequency} stride.
  std::vector<std::vector<int64_t>> sscp_conv_stride_size = {{2, 2}, {2, 2}};

  /// As TextConfig::validate, with json_path "audio_config" in config.json.
  GEMMA_API void validate(std::string_view source = "config.json",
                          std::string_view json_path = "audio_config") const;

  bool operator==(const AudioConfig&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Vision encoder (timm MobileNetV5)
// ---------------------------------------------------------------------------------------------

/// Block kinds of timm's block strings: "er", "uir" and "mqa".
enum class MobileNetBlockKind {
  kEdgeResidual,               ///< "er": fused inverted bottleneck
  kUniversalInvertedResidual,  ///< "uir": universal inverted bottleneck
  kMobileMQA,                  ///< "mqa": MobileAttention with multi-query attention
};

/// One block of a MobileNetV5 stage, decoded from a timm block string such as
/// "uir_r1_a3_k5_s2_e6_c256" exactly as timm's `_decode_block_str` does, then placed by the layout
/// (which fills in_channels/mid_channels and applies the builder's stride rule).
struct MobileNetBlock {
  MobileNetBlockKind kind = MobileNetBlockKind::kEdgeResidual;  ///< the block string's prefix
  int64_t repeat = 1;  ///< "r": copies in the string; the layout already expanded them
  /// "s": block stride. The layout sets it to 1 for every block but the first of a stage (timm's
  /// builder does). For mqa it only decides the residual: MobileAttention has no query stride.
  int64_t stride = 1;
  int64_t out_channels = 0;  ///< "c", rounded to a multiple of 8 as timm's round_channels does
  int64_t in_channels = 0;   ///< derived: the stem width or the previous block's out_channels
  /// derived: make_divisible(in * exp_ratio) for er/uir (er: force_in_channels if set); 0 for mqa
  int64_t mid_channels = 0;
  bool noskip = false;                ///< "noskip": no residual even when shapes allow one
  double exp_ratio = 1.0;             ///< "e" (er, uir): expansion ratio
  double se_ratio = 0.0;              ///< "se" (er, uir): squeeze-excite ratio; 0 = none
  std::optional<int64_t> group_size;  ///< "gs": conv group size override
  // er: conv_exp (k x k, stride) -> conv_pwl (p x p).
  int64_t exp_kernel_size = 0;    ///< "k" (er)
  int64_t pw_kernel_size = 1;     ///< "p" (er), default 1
  int64_t force_in_channels = 0;  ///< "fc" (er): TF EdgeTPU hack; 0 = off
  // uir: dw_start (a) -> pw_exp -> dw_mid (k) -> pw_proj -> dw_end (p); 0 = that conv is absent.
  int64_t dw_kernel_size_start = 0;  ///< "a" (uir)
  int64_t dw_kernel_size_mid = 0;    ///< "k" (uir)
  int64_t dw_kernel_size_end = 0;    ///< "p" (uir)
  // mqa: single shared K/V head, optionally downsampled by a depthwise conv.
  int64_t dw_kernel_size = 0;  ///< "k" (mqa): kernel of the K/V downsampling conv
  int64_t num_heads = 0;       ///< "h" (mqa): query heads
  int64_t key_dim = 0;         ///< "d" (mqa): key width per head
  int64_t value_dim = 0;       ///< "d" (mqa): value width per head (timm sets it to key_dim)
  int64_t kv_stride = 1;       ///< "v" (mqa): K/V spatial downsampling; 1 = none

  bool operator==(const MobileNetBlock&) const = default;
};

/// The MobileNetV5 encoder layout (our extension; see docs/vision-layout.md). From
/// `vision_config.gemma_cpp_layout` = {"arch_def": [[block strings per stage]], "stem_size",
/// "msfa_indices", "msfa_output_resolution", "msfa_expansion_ratio"}; built in for
/// architecture "mobilenetv5_300m_enc" (timm's `_gen_mobilenet_v5`, 84 blocks).
struct MobileNetLayout {
  /// Blocks per stage, repeats expanded: stages[s][j] is `blocks.{s}.{j}` in the checkpoint.
  std::vector<std::vector<MobileNetBlock>> stages;
  int64_t stem_size = 64;  ///< output channels of the 3x3 stride-2 stem conv
  /// Feature maps fused by the MSFA, as timm feature indices (0 = stem, s + 1 = end of stage s;
  /// negative counts from the end).
  std::vector<int64_t> msfa_indices = {-2, -1};
  int64_t msfa_output_resolution = 16;  ///< side of the MSFA output grid, in cells
  double msfa_expansion_ratio = 2.0;    ///< width ratio of the MSFA feed-forward

  /// timm's "mobilenetv5_300m_enc" (`_gen_mobilenet_v5`, non-base arch_def): stages of
  /// 3/5/37/39 blocks, stem 64, msfa_indices {-2, -1}, output resolution 16, expansion 2.0.
  GEMMA_API static MobileNetLayout mobilenetv5_300m();

  /// Total number of blocks over all stages.
  GEMMA_API size_t num_blocks() const;

  /// Checks the values of every block and the MSFA settings; errors name
  /// "<json_path>.arch_def[s][j]" or "<json_path>.<field>".
  GEMMA_API void validate(std::string_view source = "config.json",
                          std::string_view json_path = "vision_config.gemma_cpp_layout") const;

  bool operator==(const MobileNetLayout&) const = default;
};

/// `Gemma3nVisionConfig` (model_type "gemma3n_vision"): a timm encoder plus the multimodal
/// embedder's settings.
struct VisionConfig {
  std::string architecture = "mobilenetv5_300m_enc";  ///< timm model name
  int64_t hidden_size = 2048;     ///< channels of the encoder output (soft-token width)
  int64_t vocab_size = 128;       ///< rows of embed_vision's hard-token table
  int64_t vocab_offset = 262144;  ///< first token id embedded by embed_vision
  double rms_norm_eps = 1e-6;     ///< epsilon of embed_vision's RMSNorms
  bool do_pooling = false;        ///< TimmWrapper pooling flag (5.x default; the model ignores it)
  /// From gemma_cpp_layout, or built in for the architecture.
  MobileNetLayout layout = MobileNetLayout::mobilenetv5_300m();

  /// As TextConfig::validate, with json_path "vision_config" in config.json.
  GEMMA_API void validate(std::string_view source = "config.json",
                          std::string_view json_path = "vision_config") const;

  bool operator==(const VisionConfig&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Whole model
// ---------------------------------------------------------------------------------------------

/// `Gemma3nConfig` (model_type "gemma3n"), or a text-only `Gemma3nTextConfig` config.json
/// (model_type "gemma3n_text": then `text` is read from the root and has_vision/has_audio are
/// false). Missing sub-configs of a "gemma3n" config take their defaults, as in transformers.
struct ModelConfig {
  TextConfig text;         ///< text_config (or the root of a "gemma3n_text" config)
  VisionConfig vision;     ///< meaningful only when has_vision
  AudioConfig audio;       ///< meaningful only when has_audio
  bool has_vision = true;  ///< the model has a vision tower (false for "gemma3n_text")
  bool has_audio = true;   ///< the model has an audio tower (false for "gemma3n_text")
  int64_t audio_soft_tokens_per_image = 188;   ///< audio soft tokens per clip
  int64_t vision_soft_tokens_per_image = 256;  ///< image soft tokens per image
  int64_t boi_token_id = 255999;               ///< <start_of_image>
  int64_t eoi_token_id = 262144;               ///< <end_of_image>
  int64_t image_token_id = 262145;             ///< <image_soft_token>
  int64_t boa_token_id = 256000;               ///< <start_of_audio>
  int64_t eoa_token_id = 262272;               ///< <end_of_audio>
  int64_t audio_token_id = 262273;             ///< <audio_soft_token>
  /// Top-level eos ids (IT checkpoints: {1, 106}); empty when absent (transformers' None).
  std::vector<int64_t> eos_token_id;
  bool tie_word_embeddings = true;     ///< lm_head shares embed_tokens' weight
  std::string model_type = "gemma3n";  ///< "gemma3n" or "gemma3n_text"

  /// Validates every part and the cross-field rules (vocab ranges, token ids in the vocab).
  GEMMA_API void validate(std::string_view source = "config.json") const;

  bool operator==(const ModelConfig&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Generation, processors, tokenizer
// ---------------------------------------------------------------------------------------------

/// generation_config.json, with transformers' `GenerationConfig` defaults for missing keys.
struct GenerationDefaults {
  /// prompt + new tokens. nullopt when generation_config.json has none: transformers then
  /// generates 20 new tokens whatever the prompt length.
  std::optional<int64_t> max_length;
  std::optional<int64_t> max_new_tokens;  ///< new tokens to generate; nullopt: use max_length
  bool do_sample = false;                 ///< sample (true) or greedy (false)
  double temperature = 1.0;               ///< logits divisor when sampling; null reads as 1.0
  int64_t top_k = 50;                     ///< keep the k best tokens; 0 (or null) disables
  double top_p = 1.0;                     ///< nucleus mass in (0, 1]; 1.0 (or null) disables
  std::optional<double> min_p;            ///< min-p threshold in [0, 1]; nullopt disables
  double repetition_penalty = 1.0;        ///< 1.0 (or null) disables
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_id;  ///< an int or a list in the JSON
  std::optional<int64_t> pad_token_id;
  std::string cache_implementation;  ///< e.g. "hybrid"; empty when absent

  /// Throws ConfigError naming `source` and the field.
  GEMMA_API void validate(std::string_view source = "generation_config.json") const;

  bool operator==(const GenerationDefaults&) const = default;
};

/// Output size of the image resize, in pixels.
struct ImageSize {
  int64_t height = 224;
  int64_t width = 224;

  bool operator==(const ImageSize&) const = default;
};

/// The image processor (`SiglipImageProcessor[Fast]`), defaults as in transformers.
struct ImageProcessorConfig {
  bool do_resize = true;   ///< resize to `size` (else all images must share one size)
  ImageSize size;          ///< {"height", "width"}; the resize ignores the aspect ratio
  int64_t resample = 3;    ///< PIL filter code (2 = bilinear, 3 = bicubic)
  bool do_rescale = true;  ///< multiply by rescale_factor
  double rescale_factor = 1.0 / 255.0;               ///< multiplier applied to uint8 pixel values
  bool do_normalize = true;                          ///< (p − image_mean) / image_std per channel
  std::vector<double> image_mean = {0.5, 0.5, 0.5};  ///< per RGB channel; a scalar is broadcast
  std::vector<double> image_std = {0.5, 0.5, 0.5};   ///< per RGB channel; a scalar is broadcast
  bool do_convert_rgb = false;                       ///< null reads as false, as in transformers
  std::string image_processor_type;  ///< e.g. "SiglipImageProcessorFast"; empty when absent

  /// Throws ConfigError naming `source` and the field under `json_path`.
  GEMMA_API void validate(std::string_view source = "preprocessor_config.json",
                          std::string_view json_path = "") const;

  bool operator==(const ImageProcessorConfig&) const = default;
};

/// The audio feature extractor (`Gemma3nAudioFeatureExtractor`), defaults as in transformers.
/// frame_length, hop_length and fft_length are derived from the millisecond fields exactly as its
/// __init__ does; the sample counts stored in the JSON are ignored, as transformers ignores them.
struct AudioFeatureConfig {
  int64_t feature_size = 128;         ///< mel bins
  int64_t sampling_rate = 16000;      ///< expected input rate, Hz
  double padding_value = 0.0;         ///< sample value used for padding
  bool return_attention_mask = true;  ///< gemma returns the mask regardless
  double frame_length_ms = 32.0;      ///< analysis window, ms
  double hop_length_ms = 10.0;        ///< frame step, ms
  int64_t frame_length = 512;  ///< derived: round-half-even(sampling_rate * frame_length_ms / 1000)
  int64_t hop_length = 160;    ///< derived: round-half-even(sampling_rate * hop_length_ms / 1000)
  int64_t fft_length = 1024;   ///< derived: next power of two >= frame_length, x2 if fft_overdrive
  double min_frequency = 125.0;                     ///< lowest mel filter edge, Hz
  double max_frequency = 7600.0;                    ///< highest mel filter edge, Hz
  double preemphasis = 0.97;                        ///< pre-emphasis coefficient; 0 disables
  bool preemphasis_htk_flavor = true;               ///< HTK-style pre-emphasis of the first sample
  bool fft_overdrive = true;                        ///< double the FFT length
  double dither = 0.0;                              ///< std-dev of added Gaussian noise; 0 disables
  double input_scale_factor = 1.0;                  ///< waveform multiplier
  double mel_floor = 1e-5;                          ///< floor before the log
  std::optional<std::vector<double>> per_bin_mean;  ///< length feature_size; subtracted
  std::optional<std::vector<double>> per_bin_stddev;  ///< length feature_size; divided by
  // Call defaults of Gemma3nAudioFeatureExtractor.__call__ (read if a file carries them).
  std::string padding = "longest";     ///< "longest", "max_length" or "do_not_pad"
  int64_t max_length = 480000;         ///< samples kept when truncating (30 s)
  bool truncation = true;              ///< cut clips to max_length samples
  int64_t pad_to_multiple_of = 128;    ///< padded length is a multiple of this, in samples
  std::string feature_extractor_type;  ///< e.g. "Gemma3nAudioFeatureExtractor"; empty if absent

  /// Throws ConfigError naming `source` and the field under `json_path`.
  GEMMA_API void validate(std::string_view source = "preprocessor_config.json",
                          std::string_view json_path = "") const;

  bool operator==(const AudioFeatureConfig&) const = default;
};

/// `Gemma3nProcessor` settings from processor_config.json.
struct ProcessorConfig {
  int64_t image_seq_length = 256;  ///< <image_soft_token>s an image expands to
  int64_t audio_seq_length = 188;  ///< <audio_soft_token>s an audio clip expands to

  /// Throws ConfigError naming `source` and the field.
  GEMMA_API void validate(std::string_view source = "processor_config.json") const;

  bool operator==(const ProcessorConfig&) const = default;
};

/// One entry of added_tokens_decoder (tokenizers' AddedToken).
struct AddedToken {
  std::string content;     ///< the token's text, e.g. "<start_of_turn>"
  bool special = false;    ///< dropped by decode(..., skip_special_tokens=true)
  bool lstrip = false;     ///< swallows whitespace on its left when matched
  bool rstrip = false;     ///< swallows whitespace on its right when matched
  bool normalized = true;  ///< missing: !special, as in tokenizers
  bool single_word = false;

  bool operator==(const AddedToken&) const = default;
};

/// tokenizer_config.json merged with special_tokens_map.json (whose entries win, as in
/// transformers). Defaults are GemmaTokenizer[Fast]'s.
struct TokenizerConfig {
  bool add_bos_token = true;   ///< encode(..., add_special_tokens=true) prepends BOS
  bool add_eos_token = false;  ///< encode(..., add_special_tokens=true) appends EOS
  // Special tokens: a string or an AddedToken object {"content": ...} in the JSON; empty for null.
  std::string bos_token = "<bos>";    ///< begins every prompt (the chat template writes it)
  std::string eos_token = "<eos>";    ///< ends a sequence
  std::string pad_token = "<pad>";    ///< fills left padding
  std::string unk_token = "<unk>";    ///< the unknown token
  std::string mask_token = "<mask>";  ///< GemmaTokenizer's default
  /// Token id -> token, from added_tokens_decoder.
  std::map<int64_t, AddedToken> added_tokens;
  // Gemma 3n's named extra special tokens (top-level keys or extra_special_tokens entries).
  std::string image_token;  ///< "<image_soft_token>"
  std::string boi_token;    ///< "<start_of_image>"
  std::string eoi_token;    ///< "<end_of_image>"
  std::string audio_token;  ///< "<audio_soft_token>"
  std::string boa_token;    ///< "<start_of_audio>"
  std::string eoa_token;    ///< "<end_of_audio>"
  /// additional_special_tokens (4.5x) or a list-valued extra_special_tokens (5.x).
  std::vector<std::string> additional_special_tokens;
  /// The Jinja chat template; from a list of {name, template} the one named "default".
  std::string chat_template;
  /// Longest input the tokenizer accepts; transformers' "no limit" (1e30) reads as INT64_MAX.
  int64_t model_max_length = INT64_MAX;
  std::string padding_side = "left";  ///< "left" or "right"
  bool clean_up_tokenization_spaces = false;
  std::string tokenizer_class;  ///< e.g. "GemmaTokenizer"; empty when absent

  /// Throws ConfigError naming `source` and the field.
  GEMMA_API void validate(std::string_view source = "tokenizer_config.json") const;

  bool operator==(const TokenizerConfig&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Parsing and loading
// ---------------------------------------------------------------------------------------------
// parse_*: `json_text` is the file content, `source_name` prefixes every error message. The result
// is validated. Throws ConfigError.

GEMMA_API ModelConfig parse_model_config(std::string_view json_text, std::string_view source_name);
GEMMA_API GenerationDefaults parse_generation_defaults(std::string_view json_text,
                                                       std::string_view source_name);
/// Reads the image-processor keys of a flat preprocessor_config.json (other keys are ignored).
GEMMA_API ImageProcessorConfig parse_image_processor_config(std::string_view json_text,
                                                            std::string_view source_name);
/// Reads the feature-extractor keys of a flat preprocessor_config.json (other keys are ignored).
GEMMA_API AudioFeatureConfig parse_audio_feature_config(std::string_view json_text,
                                                        std::string_view source_name);
/// Reads image_seq_length / audio_seq_length of processor_config.json.
GEMMA_API ProcessorConfig parse_processor_config(std::string_view json_text,
                                                 std::string_view source_name);
GEMMA_API TokenizerConfig parse_tokenizer_config(std::string_view json_text,
                                                 std::string_view source_name);

// load_*: read the file(s) of `model_dir`. An unreadable file throws IoError naming its path; a
// missing optional file yields the defaults. Errors in a file's content name the file's path.

/// config.json (required).
GEMMA_API ModelConfig load_model_config(const std::filesystem::path& model_dir);
/// generation_config.json (optional).
GEMMA_API GenerationDefaults load_generation_defaults(const std::filesystem::path& model_dir);
/// processor_config.json's nested "image_processor" object (5.x) if present, else the flat
/// preprocessor_config.json (4.5x); both optional.
GEMMA_API ImageProcessorConfig load_image_processor_config(const std::filesystem::path& model_dir);
/// processor_config.json's nested "feature_extractor" object (5.x) if present, else the flat
/// preprocessor_config.json (4.5x); both optional.
GEMMA_API AudioFeatureConfig load_audio_feature_config(const std::filesystem::path& model_dir);
/// processor_config.json (optional).
GEMMA_API ProcessorConfig load_processor_config(const std::filesystem::path& model_dir);
/// tokenizer_config.json, then special_tokens_map.json on top (both optional).
GEMMA_API TokenizerConfig load_tokenizer_config(const std::filesystem::path& model_dir);

/// Everything a model directory configures.
struct ModelFiles {
  ModelConfig model;              ///< config.json
  GenerationDefaults generation;  ///< generation_config.json
  ImageProcessorConfig image;     ///< see load_image_processor_config
  AudioFeatureConfig audio;       ///< see load_audio_feature_config
  ProcessorConfig processor;      ///< processor_config.json
  TokenizerConfig tokenizer;      ///< tokenizer_config.json + special_tokens_map.json
  /// chat_template.jinja if present, else chat_template.json's "chat_template", else
  /// tokenizer.chat_template (the precedence of transformers' processors).
  std::string chat_template;
  /// The file chat_template came from (errors in the template name it); empty without a template.
  std::string chat_template_file;

  bool operator==(const ModelFiles&) const = default;
};

/// Loads all of the above and checks that the processor's image/audio sequence lengths equal the
/// model's soft-token counts. Throws IoError or ConfigError.
GEMMA_API ModelFiles load_model_files(const std::filesystem::path& model_dir);

}  // namespace gemma
