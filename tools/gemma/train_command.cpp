// `gemma train` (docs/fine-tuning.md): flags named as transformers' TrainingArguments, PEFT's
// LoraConfig and TRL's SFTConfig name them (both --learning-rate and --learning_rate, as
// HfArgumentParser accepts). `--nproc-per-node N` starts N local workers with torchrun's variables;
// under torchrun, a Kubernetes indexed Job or a PyTorchJob, each worker reads them itself.
// `gemma merge` folds an adapter into a full checkpoint.
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "gemma/error.h"
#include "gemma/train.h"

extern char** environ;

namespace gemma::cli {
namespace {

// "--learning-rate,--learning_rate": transformers users type either.
std::string names(const std::string& dashed) {
  std::string underscored = dashed.substr(2);
  for (auto& c : underscored) c = c == '-' ? '_' : c;
  return underscored == dashed.substr(2) ? dashed : dashed + ",--" + underscored;
}

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw IoError("--nproc-per-node: cannot find a free local port for the rendezvous");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// torchrun's job on one machine: N copies of this command, one per rank, sharing a rendezvous
// port. The first worker to fail stops the others; its exit status is ours.
int launch_workers(int count, int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--nproc-per-node" || arg == "--nproc_per_node") {
      ++i;
      continue;
    }
    if (arg.starts_with("--nproc-per-node=") || arg.starts_with("--nproc_per_node=")) continue;
    args.push_back(arg);
  }
  const auto port = free_port();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < count; ++rank) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string_view entry = *e;
      bool ours = false;
      for (std::string_view name : {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "MASTER_ADDR=", "MASTER_PORT=", "LOCAL_WORLD_SIZE="})
        ours |= entry.starts_with(name);
      if (!ours) env.emplace_back(entry);
    }
    env.push_back(fmt::format("RANK={}", rank));
    env.push_back(fmt::format("LOCAL_RANK={}", rank));
    env.push_back(fmt::format("WORLD_SIZE={}", count));
    env.push_back(fmt::format("LOCAL_WORLD_SIZE={}", count));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back(fmt::format("MASTER_PORT={}", port));
    std::vector<char*> argv_c, env_c;
    for (auto& a : args) argv_c.push_back(a.data());
    argv_c.push_back(nullptr);
    for (auto& e : env) env_c.push_back(e.data());
    env_c.push_back(nullptr);
    pid_t pid = 0;
    if (::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv_c.data(), env_c.data()) != 0) {
      for (auto p : pids) ::kill(p, SIGTERM);
      throw IoError("--nproc-per-node: cannot start a worker process");
    }
    pids.push_back(pid);
  }
  int result = 0;
  for (std::size_t left = pids.size(); left > 0; --left) {
    int status = 0;
    const pid_t done = ::wait(&status);
    if (done < 0) break;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && result == 0) {
      result = code;
      for (auto p : pids) {
        if (p != done) ::kill(p, SIGTERM);
      }
    }
  }
  return result;
}

}  // namespace

Action add_train_command(CLI::App& app, int argc, char** argv) {
  auto a = std::make_shared<TrainingArguments>();
  auto* cmd = app.add_subcommand("train", "Fine-tune a model (LoRA or selective) on conversations");
  // As with HfArgumentParser, a flag given twice takes the last value (lists collect them all).
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--model", a->model, "Model directory or Hugging Face hub id")->required();
  cmd->add_option("--data,--train-data,--train_data", a->train_data,
                  "JSON lines, one {\"messages\": [...]} conversation per line")
      ->required();
  cmd->add_option(names("--eval-data"), a->eval_data, "Evaluation conversations (same format)");
  cmd->add_option("--output,--output-dir,--output_dir", a->output_dir,
                  "Checkpoints, logs and the final adapter or model")
      ->required();
  cmd->add_option("--method", a->method, "lora or selective")
      ->check(CLI::IsMember({"lora", "selective"}))
      ->capture_default_str();
  cmd->add_option("--adapter", a->adapter, "Start from this saved (PEFT) adapter");
  cmd->add_option(names("--lora-r"), a->lora.r, "LoRA rank")->check(integer_in<int64_t>(1, 65536))->capture_default_str();
  cmd->add_option(names("--lora-alpha"), a->lora.lora_alpha, "LoRA alpha")->capture_default_str();
  cmd->add_option(names("--lora-dropout"), a->lora.lora_dropout, "LoRA dropout")
      ->check(CLI::Range(0.0, 0.999))
      ->capture_default_str();
  auto targets = std::make_shared<std::vector<std::string>>();
  cmd->add_option(names("--target-modules"), *targets,
                  "Module names (suffix match, e.g. q_proj v_proj) or all-linear")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto regex = std::make_shared<std::string>();
  cmd->add_option(names("--target-regex"), *regex, "A regex that must match the whole module name");
  cmd->add_option(names("--exclude-modules"), a->lora.exclude_modules, "Module names never targeted")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag(names("--use-rslora"), a->lora.use_rslora, "Scale by alpha/sqrt(r)");
  cmd->add_option("--trainable", a->trainable,
                  "Selective: train parameters whose name contains a match of this regex");
  cmd->add_flag(names("--assistant-only-loss"), a->assistant_only_loss,
                "Learn the assistant turns only");
  cmd->add_option(names("--max-length"), a->max_length, "Refuse longer conversations (0: the context)")
      ->check(integer_in<int64_t>(0));
  cmd->add_option(names("--learning-rate"), a->learning_rate)->check(CLI::Range(0.0, 1e3))->capture_default_str();
  cmd->add_option(names("--lr-scheduler-type"), a->lr_scheduler_type, "linear, cosine, constant, constant_with_warmup")
      ->capture_default_str();
  cmd->add_option(names("--warmup-steps"), a->warmup_steps)->check(integer_in<int64_t>(0))->capture_default_str();
  cmd->add_option(names("--warmup-ratio"), a->warmup_ratio)->check(CLI::Range(0.0, 0.999))->capture_default_str();
  cmd->add_option(names("--weight-decay"), a->weight_decay)->check(CLI::Range(0.0, 1e3))->capture_default_str();
  cmd->add_option(names("--adam-beta1"), a->adam_beta1)->check(CLI::Range(0.0, 0.999999))->capture_default_str();
  cmd->add_option(names("--adam-beta2"), a->adam_beta2)->check(CLI::Range(0.0, 0.999999))->capture_default_str();
  cmd->add_option(names("--adam-epsilon"), a->adam_epsilon)->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option(names("--max-grad-norm"), a->max_grad_norm, "0: no clipping")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  cmd->add_option(names("--per-device-train-batch-size"), a->per_device_train_batch_size)
      ->check(integer_in<int64_t>(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option(names("--per-device-eval-batch-size"), a->per_device_eval_batch_size)
      ->check(integer_in<int64_t>(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option(names("--gradient-accumulation-steps"), a->gradient_accumulation_steps)
      ->check(integer_in<int64_t>(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option(names("--num-train-epochs"), a->num_train_epochs)->check(CLI::Range(0.0, 1e6))->capture_default_str();
  cmd->add_option(names("--max-steps"), a->max_steps, "> 0: overrides the epochs")
      ->check(integer_in<int64_t>(-1, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option(names("--logging-steps"), a->logging_steps)->check(integer_in<int64_t>(1))->capture_default_str();
  cmd->add_option(names("--save-strategy"), a->save_strategy)->check(CLI::IsMember({"steps", "no"}))->capture_default_str();
  cmd->add_option(names("--save-steps"), a->save_steps)->check(integer_in<int64_t>(1))->capture_default_str();
  cmd->add_option(names("--eval-strategy"), a->eval_strategy)->check(CLI::IsMember({"steps", "no"}))->capture_default_str();
  cmd->add_option(names("--eval-steps"), a->eval_steps, "0: the logging steps")->check(integer_in<int64_t>(0));
  cmd->add_option(names("--save-total-limit"), a->save_total_limit, "0: keep all")->check(integer_in<int64_t>(0));
  cmd->add_flag(names("--load-best-model-at-end"), a->load_best_model_at_end);
  cmd->add_option(names("--metric-for-best-model"), a->metric_for_best_model)->capture_default_str();
  cmd->add_option(names("--resume-from-checkpoint"), a->resume_from_checkpoint, "A checkpoint directory or latest");
  cmd->add_option("--seed", a->seed)->check(integer_in<int64_t>(0, int64_t{1} << 62))->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "Base weights: float32, bfloat16 or float16")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}))
      ->capture_default_str();
  auto bf16 = std::make_shared<bool>(false);
  cmd->add_flag("--bf16", *bf16, "Mixed precision: bfloat16 base weights, float32 adapters (= --dtype bfloat16)");
  cmd->add_flag(names("--gradient-checkpointing"), a->gradient_checkpointing,
                "Recompute each decoder layer in backward (less memory)");
  cmd->add_option(names("--report-to"), a->report_to, "tensorboard or none")->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option(names("--logging-dir"), a->logging_dir, "TensorBoard event files (default OUTPUT/runs)");
  cmd->add_flag(names("--disable-tqdm"), a->disable_tqdm, "No progress bar");
  auto log_json = std::make_shared<bool>(false);
  cmd->add_flag(names("--log-json"), *log_json, "One JSON line per logging step on stdout");
  auto nproc = std::make_shared<int>(1);
  cmd->add_option(names("--nproc-per-node"), *nproc, "Start N local data parallel workers")
      ->check(integer_in<int>(1, 1024));

  return [=]() -> int {
    if (!*cmd) return -1;
    if (*nproc > 1) return launch_workers(*nproc, argc, argv);
    if (*bf16) a->dtype = "bfloat16";
    if (!regex->empty()) a->lora.target_regex = *regex;
    if (targets->size() == 1 && (*targets)[0] == "all-linear") {
      a->lora.all_linear = true;
    } else {
      a->lora.target_modules = *targets;
    }
    LogCallback on_log;
    if (*log_json) on_log = [](const std::string& json) { std::cout << json << std::endl; };
    const auto result = fine_tune(*a, on_log);
    std::cerr << fmt::format("gemma: trained {} steps, mean loss {:.4f}; saved to {}\n",
                             result.global_step, result.training_loss, result.output.string());
    return 0;
  };
}

Action add_merge_command(CLI::App& app) {
  struct Options {
    std::string model;
    std::string adapter, output;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("merge", "Fold a LoRA adapter into a full checkpoint");
  cmd->add_option("--model", o->model, "Base model directory or hub id")->required();
  cmd->add_option("--adapter", o->adapter, "Adapter directory (PEFT format)")->required();
  cmd->add_option("--output", o->output, "Directory for the merged checkpoint")->required();
  return [=]() -> int {
    if (!*cmd) return -1;
    merge_adapter(o->model, o->adapter, o->output);
    std::cerr << "gemma: merged " << o->adapter << " into " << o->output << "\n";
    return 0;
  };
}

}  // namespace gemma::cli
