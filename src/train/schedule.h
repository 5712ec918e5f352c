#pragma once
// transformers' learning-rate schedules (transformers.optimization, get_scheduler) as multipliers
// of the peak learning rate, so that a run configured like a transformers run follows the same
// curve.
#include <cstdint>
#include <string_view>

namespace gemma::train {

enum class SchedulerType { kLinear, kCosine, kConstant, kConstantWithWarmup };

/// "linear", "cosine", "constant", "constant_with_warmup" (TrainingArguments.lr_scheduler_type);
/// anything else is an InvalidArgumentError listing the accepted names.
SchedulerType parse_scheduler_type(std::string_view name);

/// The name parse_scheduler_type() accepts for `type`.
std::string_view scheduler_name(SchedulerType type);

/// The multiplier transformers' LambdaLR applies after `step` optimizer steps: a linear warmup from
/// 0 over `warmup_steps`, then linear decay to 0 at `total_steps`, half a cosine period (which, as
/// in transformers, rises again past `total_steps`), or 1.
double lr_multiplier(SchedulerType type, int64_t step, int64_t warmup_steps, int64_t total_steps);

}  // namespace gemma::train
