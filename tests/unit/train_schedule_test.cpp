#include <catch2/catch.hpp>
#include <vector>

#include "gemma/error.h"
#include "train/schedule.h"

using Catch::Contains;
using gemma::train::lr_multiplier;
using gemma::train::parse_scheduler_type;
using gemma::train::SchedulerType;

namespace {

const std::vector<int64_t> kSteps = {0, 1, 5, 9, 10, 11, 37, 50, 99, 100, 120};

// transformers 5.23: get_scheduler(name, SGD([p], lr=1.0), num_warmup_steps, num_training_steps),
// then optimizer.param_groups[0]["lr"] read before the optimizer/scheduler step of each of kSteps
// (printed with repr).
struct Expected {
  SchedulerType type;
  int64_t warmup;
  int64_t total;
  std::vector<double> multipliers;
};

const std::vector<Expected> kTransformers = {
    {SchedulerType::kLinear,
     10,
     100,
     {0.0, 0.1, 0.5, 0.9, 1.0, 0.9888888888888889, 0.7, 0.5555555555555556, 0.011111111111111112,
      0.0, 0.0}},
    {SchedulerType::kLinear,
     0,
     7,
     {1.0, 0.8571428571428571, 0.2857142857142857, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}},
    {SchedulerType::kCosine,
     10,
     100,
     {0.0, 0.1, 0.5, 0.9, 1.0, 0.9996954135095479, 0.7938926261462366, 0.5868240888334653,
      0.00030458649045211894, 0.0, 0.116977778440511}},
    {SchedulerType::kCosine,
     0,
     7,
     {1.0, 0.9504844339512095, 0.18825509907063326, 0.18825509907063315, 0.3887395330218427,
      0.6112604669781572, 0.18825509907063298, 0.04951556604879026, 0.9504844339512106,
      0.8117449009293675, 0.04951556604878998}},
    {SchedulerType::kConstant, 10, 100, {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}},
    {SchedulerType::kConstantWithWarmup,
     10,
     100,
     {0.0, 0.1, 0.5, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}},
    {SchedulerType::kConstantWithWarmup,
     0,
     7,
     {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}},
};

}  // namespace

TEST_CASE("lr_multiplier equals transformers' schedules", "[train][schedule]") {
  for (const auto& expected : kTransformers) {
    for (size_t i = 0; i < kSteps.size(); ++i) {
      INFO(gemma::train::scheduler_name(expected.type) << " warmup " << expected.warmup << " total "
                                                       << expected.total << " step " << kSteps[i]);
      CHECK(lr_multiplier(expected.type, kSteps[i], expected.warmup, expected.total) ==
            Approx(expected.multipliers[i]).epsilon(1e-15).margin(1e-15));
    }
  }
}

TEST_CASE("scheduler names round trip", "[train][schedule]") {
  for (const auto type : {SchedulerType::kLinear, SchedulerType::kCosine, SchedulerType::kConstant,
                          SchedulerType::kConstantWithWarmup}) {
    CHECK(parse_scheduler_type(gemma::train::scheduler_name(type)) == type);
  }
  CHECK(gemma::train::scheduler_name(SchedulerType::kConstantWithWarmup) == "constant_with_warmup");
}

TEST_CASE("unknown scheduler names are refused with the accepted ones", "[train][schedule]") {
  CHECK_THROWS_AS(parse_scheduler_type("Linear"), gemma::InvalidArgumentError);
  CHECK_THROWS_WITH(parse_scheduler_type("cosine_with_restarts"),
                    Contains("cosine_with_restarts") && Contains("constant_with_warmup"));
}
