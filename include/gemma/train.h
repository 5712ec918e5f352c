#pragma once
/// Fine-tuning: LoRA (PEFT-compatible adapters) and selective fine-tuning of Gemma 3n on
/// conversations with text, images and audio, with transformers' Trainer semantics: AdamW,
/// warmup + linear/cosine/constant schedules, gradient accumulation and clipping, logging, eval,
/// atomic checkpoints with resume, save_total_limit and the best model, and data parallel training
/// over PyTorch's c10d (Gloo on CPU, NCCL on CUDA) configured by torchrun's variables.
/// docs/fine-tuning.md puts each recipe's Python beside its C++ and CLI form.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gemma/config.h"
#include "gemma/export.h"
#include "gemma/hub.h"

namespace gemma {

/// PEFT's LoraConfig, for the fields gemma supports (adapter_config.json keeps PEFT's names).
struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 8;
  double lora_dropout = 0.0;
  /// Module names: a module is a target when its full name equals one or ends with "." + one
  /// (PEFT's rule), e.g. {"q_proj", "v_proj"}.
  std::vector<std::string> target_modules;
  /// Instead of the list: a regex that must match the whole module name (PEFT's string form).
  std::optional<std::string> target_regex;
  /// PEFT's "all-linear": every Linear layer but the output head.
  bool all_linear = false;
  /// Never targeted (same list rule); PEFT's exclude_modules...
  std::vector<std::string> exclude_modules;
  /// ...or by a regex matching the whole name.
  std::optional<std::string> exclude_regex;
  bool use_rslora = false;  ///< scaling alpha/√r instead of alpha/r
  std::string base_model_name_or_path;  ///< written as null when empty
  std::string task_type = "CAUSAL_LM";  ///< written as null when empty
  /// What adapter_config.json says: PeftModel.save_pretrained writes true for a saved adapter.
  bool inference_mode = false;

  double scaling() const;
};

/// transformers' TrainingArguments (and TRL's SFTConfig / PEFT's LoraConfig where noted), with
/// their names and defaults.
struct TrainingArguments {
  std::string model;                     ///< a model directory or hub id
  std::filesystem::path train_data;      ///< JSON lines: {"messages": [...]} per conversation
  std::filesystem::path eval_data;       ///< optional, same format
  std::filesystem::path output_dir;      ///< checkpoints, the adapter / model, logs
  HubOptions hub = {};

  std::string method = "lora";            ///< "lora" or "selective"
  LoraConfig lora = {};                   ///< method "lora"
  std::filesystem::path adapter;          ///< start from this saved adapter (LoRA)
  std::string trainable;                  ///< method "selective": regex searched in names
  bool assistant_only_loss = false;       ///< TRL: loss on the assistant turns only
  int64_t max_length = 0;                 ///< refuse longer examples; 0: the model's context

  double learning_rate = 5e-5;
  std::string lr_scheduler_type = "linear";  ///< linear, cosine, constant, constant_with_warmup
  int64_t warmup_steps = 0;
  double warmup_ratio = 0.0;  ///< used when warmup_steps is 0
  double weight_decay = 0.0;  ///< not applied to biases and norm weights (transformers' rule)
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;  ///< 0: no clipping

  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;  ///< > 0 overrides num_train_epochs

  int64_t logging_steps = 500;
  std::string save_strategy = "steps";  ///< "steps" or "no"
  int64_t save_steps = 500;
  std::string eval_strategy = "no";  ///< "no" or "steps"
  int64_t eval_steps = 0;            ///< 0: logging_steps
  int64_t save_total_limit = 0;      ///< 0: keep every checkpoint
  bool load_best_model_at_end = false;
  std::string metric_for_best_model = "loss";  ///< "loss" (eval loss; lower is better)
  std::string resume_from_checkpoint;          ///< a checkpoint directory or "latest"

  int64_t seed = 42;
  std::string device = "cpu";      ///< "cpu", "cuda", "cuda:N" (LOCAL_RANK picks N when distributed)
  std::string dtype = "float32";   ///< base weights; adapters and optimizer state stay float32
  bool gradient_checkpointing = false;  ///< recompute each decoder layer in backward
  std::vector<std::string> report_to;   ///< "tensorboard"
  std::filesystem::path logging_dir;    ///< default: output_dir/runs
  bool disable_tqdm = false;            ///< no progress bar on stderr
};

/// One log_history entry as transformers writes it (keys "loss", "learning_rate", "grad_norm",
/// "epoch", "step", or "eval_loss", ...), as a JSON object text.
using LogCallback = std::function<void(const std::string& json)>;

struct TrainResult {
  int64_t global_step = 0;
  double training_loss = 0;  ///< mean over all steps, as Trainer's TrainOutput
  std::optional<std::filesystem::path> best_model_checkpoint;
  std::filesystem::path output;  ///< the final adapter (LoRA) or model (selective) directory
};

/// Runs training. Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT (as torchrun
/// sets them) for data parallel training; without them trains alone. `on_log` gets every logging
/// and eval entry on rank 0. Throws gemma::Error for bad data, flags, checkpoints or models.
GEMMA_API TrainResult fine_tune(const TrainingArguments& args, const LogCallback& on_log = {});

/// Folds the adapter in `adapter_dir` into the model in `model_dir` and writes a full checkpoint
/// (config, tokenizer and processor files copied, weights in the model's dtype) to `output_dir`.
GEMMA_API void merge_adapter(const std::string& model, const std::filesystem::path& adapter_dir,
                             const std::filesystem::path& output_dir, const HubOptions& hub = {});

/// The trainable parameters LoRA adds to a model built from `config` (no weights needed).
GEMMA_API int64_t count_lora_parameters(const ModelConfig& config, const LoraConfig& lora);

}  // namespace gemma
