#pragma once
// transformers' trainer_state.json (TrainerState in transformers/trainer_callback.py), read and
// written key for key, so that a run resumes from a checkpoint either side wrote.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace gemma::train {

/// TrainerState's fields. Not kept: is_hyper_param_search, trial_name and trial_params (no
/// hyper-parameter search here; written as false, null, null).
struct TrainerState {
  int64_t global_step = 0;
  double epoch = 0;
  int64_t max_steps = 0;
  double num_train_epochs = 0;
  int64_t logging_steps = 500, eval_steps = 500, save_steps = 500;
  int64_t train_batch_size = 1;
  int64_t num_input_tokens_seen = 0;
  std::optional<double> best_metric;
  std::optional<std::string> best_model_checkpoint;
  std::optional<int64_t> best_global_step;
  /// One object per log or evaluation ({"loss": 2.5, "step": 10, ...}).
  nlohmann::json log_history = nlohmann::json::array();
  /// A float in transformers (it overflows int64 on long runs).
  double total_flos = 0;
  bool is_local_process_zero = true, is_world_process_zero = true;
  /// transformers' callback states by class name ({"TrainerControl": {"args": ..., ...}}), kept
  /// as read.
  nlohmann::json stateful_callbacks = nlohmann::json::object();
};

/// The text TrainerState.save_to_json writes: json.dumps(indent=2, sort_keys=True) plus a newline,
/// byte for byte (Python's float spelling, NaN and Infinity included).
std::string trainer_state_json(const TrainerState& state);

/// Reads a trainer_state.json written by transformers or trainer_state_json(). Python's NaN and
/// Infinity tokens read as null (an unknown log value, a missing best metric). ConfigError naming
/// the file and field for a wrong type or a missing global_step or log_history; IoError if it
/// cannot be read.
TrainerState parse_trainer_state(const std::filesystem::path& file);

/// parse_trainer_state() of the file's text; `source` names it in messages.
TrainerState parse_trainer_state_text(std::string_view text, std::string_view source);

}  // namespace gemma::train
