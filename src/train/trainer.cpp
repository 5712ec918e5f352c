// gemma::fine_tune: transformers' Trainer loop for Gemma 3n (with Gemma3nForConditionalGeneration's
// loss: the mean cross-entropy of each micro-batch, divided by the accumulation steps).
#include <ATen/ops/cat.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "gemma/error.h"
#include "gemma/hub.h"
#include "gemma/processor.h"
#include "gemma/train.h"
#include "io/tensor.h"
#include "model/loader.h"
#include "train/checkpoint_dir.h"
#include "train/data.h"
#include "train/distributed.h"
#include "train/lora.h"
#include "train/loss_plot.h"
#include "train/merge.h"
#include "train/schedule.h"
#include "train/state.h"
#include "train/tensorboard.h"
#include "train/trainer_state.h"
#include "util/files.h"
#include "util/torch_errors.h"

namespace gemma {
namespace train {
namespace {

using Clock = std::chrono::steady_clock;

at::Device parse_device(const std::string& text, const std::optional<WorldInfo>& world) {
  if (text == "cpu") return at::kCPU;
  if (text == "cuda" && world) return at::Device(at::kCUDA, static_cast<int8_t>(world->local_rank));
  try {
    at::Device device(text);
    if (device.is_cpu() || device.is_cuda()) return device;
  } catch (const c10::Error&) {
  }
  throw InvalidArgumentError(fmt::format("--device '{}' is not cpu, cuda or cuda:N", text));
}

at::ScalarType parse_dtype(const std::string& text) {
  if (text == "float32") return at::kFloat;
  if (text == "bfloat16") return at::kBFloat16;
  if (text == "float16") return at::kHalf;
  throw InvalidArgumentError(fmt::format("--dtype '{}' is not float32, bfloat16 or float16", text));
}

void validate(const TrainingArguments& a) {
  auto need = [](bool ok, const std::string& message) {
    if (!ok) throw InvalidArgumentError(message);
  };
  need(!a.model.empty(), "training needs --model");
  need(!a.train_data.empty(), "training needs --data (JSON lines of conversations)");
  need(!a.output_dir.empty(), "training needs --output");
  need(a.method == "lora" || a.method == "selective",
       fmt::format("--method '{}' is not lora or selective", a.method));
  if (a.method == "lora" && a.adapter.empty()) {
    need(a.lora.all_linear || a.lora.target_regex || !a.lora.target_modules.empty(),
         "LoRA needs --target-modules (names, a regex, or all-linear)");
    need(a.lora.r >= 1, "--lora-r must be at least 1");
  }
  if (a.method == "selective") need(!a.trainable.empty(), "--method selective needs --trainable REGEX");
  need(a.method == "selective" || a.trainable.empty(), "--trainable is for --method selective");
  need(a.learning_rate >= 0 && std::isfinite(a.learning_rate), "--learning-rate must be ≥ 0");
  need(a.per_device_train_batch_size >= 1, "--per-device-train-batch-size must be ≥ 1");
  need(a.per_device_eval_batch_size >= 1, "--per-device-eval-batch-size must be ≥ 1");
  need(a.gradient_accumulation_steps >= 1, "--gradient-accumulation-steps must be ≥ 1");
  need(a.max_steps > 0 || a.num_train_epochs > 0, "--num-train-epochs must be > 0 (or set --max-steps)");
  need(a.logging_steps >= 1 && a.save_steps >= 1, "--logging-steps and --save-steps must be ≥ 1");
  need(a.warmup_steps >= 0 && a.warmup_ratio >= 0 && a.warmup_ratio < 1,
       "--warmup-steps must be ≥ 0 and --warmup-ratio in [0, 1)");
  need(a.max_grad_norm >= 0 && a.weight_decay >= 0, "--max-grad-norm and --weight-decay must be ≥ 0");
  need(a.lora.lora_dropout >= 0 && a.lora.lora_dropout < 1, "--lora-dropout must be in [0, 1)");
  need(a.save_strategy == "steps" || a.save_strategy == "no",
       fmt::format("--save-strategy '{}' is not steps or no", a.save_strategy));
  need(a.eval_strategy == "steps" || a.eval_strategy == "no",
       fmt::format("--eval-strategy '{}' is not steps or no", a.eval_strategy));
  need(a.eval_strategy == "no" || !a.eval_data.empty(), "--eval-strategy steps needs --eval-data");
  need(a.metric_for_best_model == "loss" || a.metric_for_best_model == "eval_loss",
       "--metric-for-best-model supports loss (the eval loss) only");
  for (const auto& r : a.report_to) {
    need(r == "tensorboard" || r == "none", fmt::format("--report-to '{}' is not tensorboard or none", r));
  }
  if (a.load_best_model_at_end) {
    need(a.eval_strategy == "steps" && a.save_strategy == "steps",
         "--load-best-model-at-end needs --eval-strategy steps and --save-strategy steps");
    const auto eval_steps = a.eval_steps > 0 ? a.eval_steps : a.logging_steps;
    need(a.save_steps % eval_steps == 0,
         fmt::format("--load-best-model-at-end needs --save-steps ({}) to be a multiple of the eval "
                     "steps ({}), as transformers requires",
                     a.save_steps, eval_steps));
  }
}

// transformers' get_decay_parameter_names: no weight decay for biases and norm weights.
bool decays(const std::string& name) {
  static const std::regex forbidden(R"(bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.))");
  std::string lower = name;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return !std::regex_search(lower, forbidden);
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, seconds));
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{:02}:{:02}", s / 60, s % 60);
}

// A tqdm-like line on stderr, redrawn in place on a terminal.
class ProgressBar {
 public:
  ProgressBar(int64_t total, int64_t start, bool enabled)
      : total_(total), start_(start), enabled_(enabled), began_(Clock::now()), tty_(::isatty(2)) {}
  void update(int64_t step, double loss, double lr) {
    if (!enabled_ || (!tty_ && step != total_)) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - began_).count();
    const double rate = (step - start_) / std::max(elapsed, 1e-9);
    const double eta = rate > 0 ? (total_ - step) / rate : 0;
    const int filled = static_cast<int>(20.0 * step / std::max<int64_t>(total_, 1));
    std::cerr << fmt::format("\r{:3}%|{}{}| {}/{} [{}<{}, {:.2f}it/s, loss={:.4g}, lr={:.3g}]",
                             100 * step / std::max<int64_t>(total_, 1), std::string(filled, '#'),
                             std::string(20 - filled, ' '), step, total_, format_duration(elapsed),
                             format_duration(eta), rate, loss, lr)
              << (step == total_ ? "\n" : "") << std::flush;
  }

 private:
  int64_t total_, start_;
  bool enabled_;
  Clock::time_point began_;
  bool tty_;
};

class Trainer {
 public:
  Trainer(const TrainingArguments& args, const LogCallback& on_log);
  TrainResult run();

 private:
  void load();
  void select_trainable();
  double evaluate();
  void optimizer_step(double& grad_norm);
  void average_gradients();
  void log(nlohmann::json entry);
  // `eval_loss`: of an evaluation at this very step, which may make this checkpoint the best.
  void save_checkpoint(const std::optional<double>& eval_loss);
  void save_trainable(const std::filesystem::path& dir);
  void load_trainable(const std::filesystem::path& dir);
  void resume(const std::filesystem::path& checkpoint);
  void save_final();
  std::filesystem::path resolve_checkpoint() const;
  // Training and evaluation label their batches alike, as one data collator does in transformers.
  CollateOptions collate_options() const {
    return {args_.assistant_only_loss, args_.max_length, device_};
  }
  int rank() const { return group_ ? group_->rank() : 0; }
  int world_size() const { return group_ ? group_->world_size() : 1; }
  bool is_main() const { return rank() == 0; }
  double reduce_mean(double value);

  TrainingArguments args_;
  LogCallback on_log_;
  std::optional<WorldInfo> world_;
  std::unique_ptr<ProcessGroup> group_;
  at::Device device_ = at::kCPU;
  std::filesystem::path model_dir_;
  model::LoadedModel loaded_;
  std::optional<Processor> processor_;
  LoraConfig lora_;
  NamedTensors trainable_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<Example> train_, eval_;
  SchedulerType schedule_ = SchedulerType::kLinear;
  int64_t total_steps_ = 0, warmup_steps_ = 0, steps_per_epoch_ = 0;
  TrainerState state_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

Trainer::Trainer(const TrainingArguments& args, const LogCallback& on_log)
    : args_(args), on_log_(on_log) {
  validate(args_);
  schedule_ = parse_scheduler_type(args_.lr_scheduler_type);
  world_ = world_from_environment();
  device_ = parse_device(args_.device, world_);
  if (world_) group_ = std::make_unique<ProcessGroup>(*world_, device_);
}

void Trainer::load() {
  model_dir_ = resolve_model(args_.model, args_.hub);
  const auto options = at::TensorOptions().dtype(parse_dtype(args_.dtype)).device(device_);
  loaded_ = model::load_model(model_dir_, options);
  loaded_.model->model->language_model->set_gradient_checkpointing(args_.gradient_checkpointing);
  processor_.emplace(Processor::from_pretrained(model_dir_));
  train_ = read_examples(args_.train_data);
  if (!args_.eval_data.empty()) eval_ = read_examples(args_.eval_data);
}

void Trainer::select_trainable() {
  auto& model = *loaded_.model;
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  // transformers' set_seed comes before PEFT creates the adapter: the same seed, the same start.
  at::manual_seed(static_cast<uint64_t>(args_.seed));
  if (args_.method == "lora") {
    if (!args_.adapter.empty()) {
      lora_ = load_adapter(model, {}, args_.adapter);
    } else {
      lora_ = args_.lora;
      if (lora_.base_model_name_or_path.empty()) lora_.base_model_name_or_path = args_.model;
      attach_lora(model, lora_);
    }
    for (auto& [key, tensor] : lora_state(model)) tensor.set_requires_grad(true);
  } else {
    std::regex pattern;
    try {
      pattern = std::regex(args_.trainable);
    } catch (const std::regex_error& e) {
      throw InvalidArgumentError(fmt::format("--trainable '{}' is not a regex: {}", args_.trainable, e.what()));
    }
    for (auto& item : model.named_parameters()) {
      if (std::regex_search(item.key(), pattern)) item.value().set_requires_grad(true);
    }
  }
  for (auto& item : model.named_parameters()) {
    if (item.value().requires_grad()) trainable_.emplace_back(item.key(), item.value());
  }
  if (trainable_.empty()) {
    throw InvalidArgumentError(fmt::format("--trainable '{}' matches no parameter of the model",
                                           args_.trainable));
  }
  // Adapters are float32 whatever the base dtype; selected parameters train in their own dtype.
  std::vector<torch::optim::OptimizerParamGroup> groups;
  std::vector<at::Tensor> decay, no_decay;
  for (auto& [name, tensor] : trainable_) (decays(name) ? decay : no_decay).push_back(tensor);
  auto options = [&](double weight_decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(args_.learning_rate)
            .betas({args_.adam_beta1, args_.adam_beta2})
            .eps(args_.adam_epsilon)
            .weight_decay(weight_decay));
  };
  if (!decay.empty()) groups.emplace_back(decay, options(args_.weight_decay));
  if (!no_decay.empty()) groups.emplace_back(no_decay, options(0.0));
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      groups, torch::optim::AdamWOptions(args_.learning_rate));
}

double Trainer::reduce_mean(double value) {
  return group_ ? group_->all_reduce_sum(value) / group_->world_size() : value;
}

double Trainer::evaluate() {
  auto& model = *loaded_.model;
  model.eval();
  at::NoGradGuard no_grad;
  std::vector<int64_t> order;
  for (int64_t i = rank(); i < static_cast<int64_t>(eval_.size()); i += world_size()) order.push_back(i);
  double weighted = 0, rows = 0;
  for (const auto& batch : micro_batches(eval_, order, args_.per_device_eval_batch_size)) {
    auto inputs = collate(*processor_, loaded_.config, batch, collate_options());
    weighted += causal_lm_loss(*loaded_.model, inputs).item<double>() * static_cast<double>(batch.size());
    rows += static_cast<double>(batch.size());
  }
  if (group_) {
    weighted = group_->all_reduce_sum(weighted);
    rows = group_->all_reduce_sum(rows);
  }
  model.train();
  return weighted / std::max(rows, 1.0);
}

void Trainer::optimizer_step(double& grad_norm) {
  if (group_) average_gradients();
  std::vector<at::Tensor> with_grad;
  for (auto& [name, p] : trainable_) {
    if (p.grad().defined()) with_grad.push_back(p);
  }
  const double max_norm =
      args_.max_grad_norm > 0 ? args_.max_grad_norm : std::numeric_limits<double>::infinity();
  grad_norm = torch::nn::utils::clip_grad_norm_(with_grad, max_norm);
  optimizer_->step();
  optimizer_->zero_grad(true);
}

// DDP: the mean of every rank's gradients, in one flat buffer. A parameter may have a gradient on
// one rank only (LoRA on the audio tower when only one rank's batch has audio): it counts as zero
// on the others; one that has none anywhere keeps none, so AdamW leaves it alone.
void Trainer::average_gradients() {
  std::vector<float> flags(trainable_.size());
  for (std::size_t i = 0; i < trainable_.size(); ++i)
    flags[i] = trainable_[i].second.grad().defined() ? 1.0F : 0.0F;
  std::vector<at::Tensor> has = {at::tensor(flags, at::kFloat).to(device_)};
  group_->all_reduce_sum(has);
  const auto any = has[0].cpu();
  const auto* with_grad_somewhere = any.data_ptr<float>();
  std::vector<at::Tensor> parts, grads;
  for (std::size_t i = 0; i < trainable_.size(); ++i) {
    auto& p = trainable_[i].second;
    if (with_grad_somewhere[i] == 0) continue;
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
    parts.push_back(p.grad().reshape({-1}).to(at::kFloat));
  }
  if (parts.empty()) return;
  std::vector<at::Tensor> flat = {at::cat(parts)};
  group_->all_reduce_sum(flat);
  flat[0].div_(group_->world_size());
  int64_t offset = 0;
  for (auto& g : grads) {
    g.copy_(flat[0].narrow(0, offset, g.numel()).view(g.sizes()));
    offset += g.numel();
  }
}

void Trainer::log(nlohmann::json entry) {
  entry["step"] = state_.global_step;
  state_.log_history.push_back(entry);
  if (!is_main()) return;
  if (on_log_) on_log_(entry.dump());
  if (tensorboard_) {
    for (const auto& [key, value] : entry.items()) {
      if (key == "step" || !value.is_number()) continue;
      const auto tag = key.starts_with("eval_") ? "eval/" + key.substr(5) : "train/" + key;
      tensorboard_->add_scalar(tag, value.get<double>(), state_.global_step);
    }
    tensorboard_->flush();
  }
  std::vector<std::pair<int64_t, double>> train_curve, eval_curve;
  for (const auto& e : state_.log_history) {
    if (e.contains("loss")) train_curve.emplace_back(e["step"].get<int64_t>(), e["loss"].get<double>());
    if (e.contains("eval_loss"))
      eval_curve.emplace_back(e["step"].get<int64_t>(), e["eval_loss"].get<double>());
  }
  std::filesystem::create_directories(args_.output_dir);
  write_loss_plot(args_.output_dir / "loss.png", train_curve, eval_curve);
}

void Trainer::save_trainable(const std::filesystem::path& dir) {
  if (args_.method == "lora") {
    save_adapter(*loaded_.model, lora_, dir);
  } else {
    io::save_tensors(dir / "trainable.safetensors", trainable_, {{"format", "pt"}});
  }
}

void Trainer::load_trainable(const std::filesystem::path& dir) {
  if (args_.method == "lora") {
    load_named(trainable_, dir / "adapter_model.safetensors", "base_model.model.");
  } else {
    load_named(trainable_, dir / "trainable.safetensors");
  }
}

void Trainer::save_checkpoint(const std::optional<double>& eval_loss) {
  const auto dir = args_.output_dir / fmt::format("checkpoint-{}", state_.global_step);
  if (eval_loss && (!state_.best_metric || *eval_loss < *state_.best_metric)) {
    state_.best_metric = *eval_loss;
    state_.best_model_checkpoint = dir.string();
    state_.best_global_step = state_.global_step;
  }
  if (is_main()) {
    write_directory_atomically(dir, [&](const std::filesystem::path& tmp) {
      save_trainable(tmp);
      save_optimizer(*optimizer_, trainable_, tmp / "optimizer.safetensors");
      util::write_file_atomically(tmp / "trainer_state.json", trainer_state_json(state_));
    });
    std::optional<std::filesystem::path> best;
    if (state_.best_model_checkpoint) best = *state_.best_model_checkpoint;
    rotate_checkpoints(args_.output_dir, args_.save_total_limit, best);
  }
  if (group_) group_->barrier();
}

std::filesystem::path Trainer::resolve_checkpoint() const {
  if (args_.resume_from_checkpoint != "latest") return args_.resume_from_checkpoint;
  auto latest = latest_checkpoint(args_.output_dir);
  if (!latest) {
    throw InvalidArgumentError(fmt::format(
        "--resume-from-checkpoint latest: {} has no checkpoint-N directory", args_.output_dir.string()));
  }
  return *latest;
}

void Trainer::resume(const std::filesystem::path& checkpoint) {
  state_ = parse_trainer_state(checkpoint / "trainer_state.json");
  load_trainable(checkpoint);
  load_optimizer(*optimizer_, trainable_, checkpoint / "optimizer.safetensors");
}

void Trainer::save_final() {
  if (!is_main()) return;
  std::filesystem::create_directories(args_.output_dir);
  if (args_.method == "lora") {
    save_adapter(*loaded_.model, lora_, args_.output_dir);
  } else {
    save_model_weights(*loaded_.model, args_.output_dir);
    copy_model_files(model_dir_, args_.output_dir);
  }
  util::write_file_atomically(args_.output_dir / "trainer_state.json", trainer_state_json(state_));
}

TrainResult Trainer::run() {
  load();
  select_trainable();
  const auto n = static_cast<int64_t>(train_.size());
  const int64_t per_rank = (n + world_size() - 1) / world_size();
  const int64_t batch = args_.per_device_train_batch_size, accumulate = args_.gradient_accumulation_steps;
  const int64_t micro_per_epoch = (per_rank + batch - 1) / batch;
  steps_per_epoch_ = (micro_per_epoch + accumulate - 1) / accumulate;
  total_steps_ = args_.max_steps > 0
                     ? args_.max_steps
                     : static_cast<int64_t>(std::ceil(args_.num_train_epochs * steps_per_epoch_));
  const int64_t epochs = (total_steps_ + steps_per_epoch_ - 1) / steps_per_epoch_;
  warmup_steps_ = args_.warmup_steps > 0
                      ? args_.warmup_steps
                      : static_cast<int64_t>(std::ceil(args_.warmup_ratio * total_steps_));
  const int64_t eval_steps = args_.eval_steps > 0 ? args_.eval_steps : args_.logging_steps;

  state_.max_steps = total_steps_;
  state_.num_train_epochs = static_cast<double>(epochs);
  state_.logging_steps = args_.logging_steps;
  state_.eval_steps = eval_steps;
  state_.save_steps = args_.save_steps;
  state_.train_batch_size = batch;
  state_.is_world_process_zero = is_main();
  if (is_main()) remove_stale_temporaries(args_.output_dir);
  if (!args_.resume_from_checkpoint.empty()) resume(resolve_checkpoint());
  if (is_main() && std::find(args_.report_to.begin(), args_.report_to.end(), "tensorboard") !=
                       args_.report_to.end()) {
    tensorboard_ = std::make_unique<TensorBoardWriter>(
        args_.logging_dir.empty() ? args_.output_dir / "runs" : args_.logging_dir);
  }

  auto& model = *loaded_.model;
  model.train();
  auto set_lr = [&](int64_t step) {
    const double lr = args_.learning_rate * lr_multiplier(schedule_, step, warmup_steps_, total_steps_);
    for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
    return lr;
  };
  set_lr(state_.global_step);
  ProgressBar progress(total_steps_, state_.global_step, is_main() && !args_.disable_tqdm);
  double loss_since_log = 0, loss_total = 0, grad_norm = 0;
  int64_t last_logged = state_.global_step;
  const int64_t resumed_at = state_.global_step;
  const auto started = Clock::now();

  for (int64_t epoch = state_.global_step / steps_per_epoch_; epoch < epochs; ++epoch) {
    const auto batches = micro_batches(train_, epoch_order(n, args_.seed, epoch, rank(), world_size()), batch);
    const int64_t first_step = epoch * steps_per_epoch_;
    for (int64_t window = state_.global_step - first_step; window < steps_per_epoch_; ++window) {
      if (state_.global_step >= total_steps_) break;
      const int64_t begin = window * accumulate;
      const int64_t count = std::min<int64_t>(accumulate, static_cast<int64_t>(batches.size()) - begin);
      // A fresh dropout stream per step and rank: a resumed run draws the same masks.
      at::manual_seed(static_cast<uint64_t>(args_.seed + 1000003 * rank() + state_.global_step));
      double step_loss = 0;
      for (int64_t i = begin; i < begin + count; ++i) {
        auto inputs = collate(*processor_, loaded_.config, batches[i], collate_options());
        auto loss = causal_lm_loss(*loaded_.model, inputs) / static_cast<double>(count);
        loss.backward();
        step_loss += loss.item<double>();
      }
      if (!std::isfinite(step_loss)) {
        throw InvalidArgumentError(fmt::format(
            "step {}: the training loss is {} (try a lower --learning-rate or --dtype float32)",
            state_.global_step + 1, step_loss));
      }
      optimizer_step(grad_norm);
      ++state_.global_step;
      state_.epoch = static_cast<double>(epoch) +
                     static_cast<double>(begin + count) / static_cast<double>(batches.size());
      const double lr = set_lr(state_.global_step);
      step_loss = reduce_mean(step_loss);
      loss_since_log += step_loss;
      loss_total += step_loss;
      progress.update(state_.global_step, step_loss, lr);

      if (state_.global_step % args_.logging_steps == 0) {
        log({{"loss", loss_since_log / static_cast<double>(state_.global_step - last_logged)},
             {"grad_norm", grad_norm},
             {"learning_rate", lr},
             {"epoch", state_.epoch}});
        loss_since_log = 0;
        last_logged = state_.global_step;
      }
      std::optional<double> eval_loss;
      if (args_.eval_strategy == "steps" && state_.global_step % eval_steps == 0) {
        eval_loss = evaluate();
        log({{"eval_loss", *eval_loss}, {"epoch", state_.epoch}});
      }
      if (args_.save_strategy == "steps" && state_.global_step % args_.save_steps == 0)
        save_checkpoint(eval_loss);
    }
  }

  // Trainer's closing entry: runtime and throughput of this run (a resumed one counts its own steps).
  const double runtime = std::chrono::duration<double>(Clock::now() - started).count();
  const auto steps_run = std::max<int64_t>(1, state_.global_step - resumed_at);
  log({{"train_runtime", runtime},
       {"train_samples_per_second", static_cast<double>(steps_run * batch * accumulate * world_size()) / runtime},
       {"train_steps_per_second", static_cast<double>(steps_run) / runtime},
       {"train_loss", loss_total / static_cast<double>(steps_run)},
       {"epoch", state_.epoch}});
  if (args_.load_best_model_at_end && state_.best_model_checkpoint) load_trainable(*state_.best_model_checkpoint);
  save_final();
  TrainResult result;
  result.global_step = state_.global_step;
  result.training_loss = loss_total / static_cast<double>(steps_run);
  if (state_.best_model_checkpoint) result.best_model_checkpoint = *state_.best_model_checkpoint;
  result.output = args_.output_dir;
  return result;
}

}  // namespace
}  // namespace train

TrainResult fine_tune(const TrainingArguments& args, const LogCallback& on_log) {
  return util::with_torch_errors("training", [&] { return train::Trainer(args, on_log).run(); });
}

}  // namespace gemma
