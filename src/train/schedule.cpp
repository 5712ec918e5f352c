#include "train/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "gemma/error.h"

namespace gemma::train {

namespace {

constexpr std::pair<std::string_view, SchedulerType> kSchedulers[] = {
    {"linear", SchedulerType::kLinear},
    {"cosine", SchedulerType::kCosine},
    {"constant", SchedulerType::kConstant},
    {"constant_with_warmup", SchedulerType::kConstantWithWarmup},
};

// The formulas are transformers' own, operation for operation, so the values agree to the bit.
double warmup(int64_t step, int64_t warmup_steps) {
  return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
}

double linear_decay(int64_t step, int64_t warmup_steps, int64_t total_steps) {
  return std::max(0.0, static_cast<double>(total_steps - step) /
                           static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps)));
}

// num_cycles = 0.5: half a period from 1 down to 0. Progress is not clamped, so past total_steps
// the multiplier rises again, as in transformers.
double cosine_decay(int64_t step, int64_t warmup_steps, int64_t total_steps) {
  const double progress = static_cast<double>(step - warmup_steps) /
                          static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * 0.5 * 2.0 * progress)));
}

}  // namespace

SchedulerType parse_scheduler_type(std::string_view name) {
  for (const auto& [known, type] : kSchedulers) {
    if (name == known) return type;
  }
  throw InvalidArgumentError(
      fmt::format("unknown learning-rate scheduler \"{}\": expected linear, cosine, constant or "
                  "constant_with_warmup",
                  name));
}

std::string_view scheduler_name(SchedulerType type) {
  for (const auto& [name, known] : kSchedulers) {
    if (type == known) return name;
  }
  throw InternalError(fmt::format("no name for scheduler type {}", static_cast<int>(type)));
}

double lr_multiplier(SchedulerType type, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  if (type == SchedulerType::kConstant) return 1.0;
  if (step < warmup_steps) return warmup(step, warmup_steps);
  switch (type) {
    case SchedulerType::kLinear:
      return linear_decay(step, warmup_steps, total_steps);
    case SchedulerType::kCosine:
      return cosine_decay(step, warmup_steps, total_steps);
    case SchedulerType::kConstant:
    case SchedulerType::kConstantWithWarmup:
      break;
  }
  return 1.0;
}

}  // namespace gemma::train
