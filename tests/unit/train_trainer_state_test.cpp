#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <limits>

#include "gemma/error.h"
#include "support/paths.h"
#include "train/trainer_state.h"
#include "util/files.h"

using Catch::Contains;
using gemma::train::parse_trainer_state;
using gemma::train::trainer_state_json;
using gemma::train::TrainerState;
using nlohmann::json;

namespace {

// transformers 5.23's TrainerState.save_to_json, from scripts/fixtures/train_misc.py.
std::filesystem::path golden_path() {
  return gemma::test::data_dir() / "golden" / "train" / "trainer_state.json";
}

std::filesystem::path write_state(const std::string& name, const std::string& text) {
  const auto path = gemma::test::scratch_dir(name) / "trainer_state.json";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("parse_trainer_state reads transformers' trainer_state.json", "[train][trainer_state]") {
  const TrainerState s = parse_trainer_state(golden_path());
  CHECK(s.global_step == 30);
  CHECK(s.epoch == 1.5);
  CHECK(s.max_steps == 40);
  CHECK(s.num_train_epochs == 2);
  CHECK(s.logging_steps == 10);
  CHECK(s.eval_steps == 20);
  CHECK(s.save_steps == 10);
  CHECK(s.train_batch_size == 4);
  CHECK(s.num_input_tokens_seen == 0);
  CHECK(s.total_flos == 1234567890123456.0);
  CHECK(s.best_metric == 3.25);
  CHECK(s.best_global_step == 20);
  CHECK(s.best_model_checkpoint == "out/checkpoint-20");
  CHECK(s.is_local_process_zero);
  CHECK(s.is_world_process_zero);
  REQUIRE(s.log_history.size() == 4);
  CHECK(s.log_history[0]["loss"] == 2.5);
  CHECK(s.log_history[0]["step"].is_number_integer());
  CHECK(s.log_history[2]["eval_loss"] == 3.25);
  // Python wrote float('nan') as a bare NaN.
  CHECK(std::isnan(s.log_history[3]["grad_norm"].get<double>()));
  CHECK(s.stateful_callbacks["TrainerControl"]["args"]["should_save"] == true);
}

TEST_CASE("trainer_state_json writes transformers' bytes", "[train][trainer_state]") {
  CHECK(trainer_state_json(parse_trainer_state(golden_path())) ==
        gemma::util::read_file(golden_path()));
}

TEST_CASE("a default state round trips", "[train][trainer_state]") {
  TrainerState state;
  state.global_step = 7;
  state.log_history.push_back({{"loss", 1.25}, {"step", 7}, {"note", "naïve \"quoted\" NaN"}});
  const std::string text = trainer_state_json(state);
  CHECK(text.back() == '\n');
  CHECK_THAT(text, Contains(R"("best_metric": null,)"));
  CHECK_THAT(text, Contains(R"("stateful_callbacks": {},)"));
  CHECK_THAT(text, Contains(R"("is_hyper_param_search": false,)"));
  CHECK_THAT(text, Contains(R"("trial_params": null)"));
  // ensure_ascii, as Python's json.dumps.
  CHECK_THAT(text, Contains(R"("note": "na\u00efve \"quoted\" NaN")"));
  const TrainerState back = parse_trainer_state(write_state("train_state_round_trip", text));
  CHECK(back.global_step == 7);
  CHECK(back.log_history == state.log_history);
  CHECK_FALSE(back.best_metric);
  CHECK_FALSE(back.best_model_checkpoint);
  CHECK_FALSE(back.best_global_step);
  CHECK(trainer_state_json(back) == text);
}

TEST_CASE("floats are spelled as Python spells them", "[train][trainer_state]") {
  TrainerState state;
  state.total_flos = 1e15;
  state.epoch = 3;
  state.num_train_epochs = 2.5;
  state.best_metric = std::numeric_limits<double>::infinity();
  state.log_history.push_back({{"a", 1e16},
                               {"b", 2e-5},
                               {"c", 1e-4},
                               {"d", -0.0},
                               {"e", -std::numeric_limits<double>::infinity()}});
  const std::string text = trainer_state_json(state);
  CHECK_THAT(text, Contains(R"("total_flos": 1000000000000000.0,)"));
  CHECK_THAT(text, Contains(R"("epoch": 3.0,)"));
  CHECK_THAT(text, Contains(R"("num_train_epochs": 2.5,)"));
  CHECK_THAT(text, Contains(R"("best_metric": Infinity,)"));
  CHECK_THAT(text, Contains(R"("a": 1e+16,)"));
  CHECK_THAT(text, Contains(R"("b": 2e-05,)"));
  CHECK_THAT(text, Contains(R"("c": 0.0001,)"));
  CHECK_THAT(text, Contains(R"("d": -0.0,)"));
  CHECK_THAT(text, Contains(R"("e": -Infinity)"));
  const TrainerState back = parse_trainer_state(write_state("train_state_floats", text));
  CHECK(back.best_metric == std::numeric_limits<double>::infinity());
  CHECK(back.log_history[0]["e"] == -std::numeric_limits<double>::infinity());
  CHECK(trainer_state_json(back) == text);
}

TEST_CASE("parse_trainer_state names the file and field of a bad value", "[train][trainer_state]") {
  const auto refused = [](const std::string& name, const std::string& text,
                          const std::string& field) {
    const auto path = write_state(name, text);
    INFO(text);
    CHECK_THROWS_AS(parse_trainer_state(path), gemma::ConfigError);
    CHECK_THROWS_WITH(parse_trainer_state(path), Contains(path.string()) && Contains(field));
  };
  refused("train_state_no_step", R"({"log_history": []})", "global_step");
  refused("train_state_no_history", R"({"global_step": 3})", "log_history");
  refused("train_state_step_type", R"({"global_step": "3", "log_history": []})", "global_step");
  refused("train_state_history_type", R"({"global_step": 3, "log_history": {}})", "log_history");
  refused("train_state_history_entry", R"({"global_step": 3, "log_history": [{}, 2]})",
          "log_history[1]");
  refused("train_state_best",
          R"({"global_step": 3, "log_history": [], "best_model_checkpoint": 4})",
          "best_model_checkpoint");
  refused("train_state_callbacks",
          R"({"global_step": 3, "log_history": [], "stateful_callbacks": []})",
          "stateful_callbacks");
  refused("train_state_syntax", R"({"global_step": 3, "log_history": [NaNa]})", "invalid JSON");
  refused("train_state_not_object", "[]", "expected an object");
  CHECK_THROWS_AS(parse_trainer_state(gemma::test::scratch_dir("train_state_missing") / "x.json"),
                  gemma::IoError);
}
