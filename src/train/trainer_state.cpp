#include "train/trainer_state.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <string_view>

#include "gemma/error.h"
#include "io/json_fields.h"
#include "util/files.h"
#include "util/json.h"

namespace gemma::train {

namespace {

using nlohmann::json;

// Python's json module writes float('nan') and the infinities as the bare tokens NaN, Infinity
// and -Infinity (a NaN loss ends up in log_history), which strict JSON refuses. Before parsing,
// each such token outside strings becomes a marker string, which the parser callback turns back
// into the double.
struct PythonFloatToken {
  std::string_view token;
  std::string_view marker;  // as JSON text, and as the parsed string
  std::string_view parsed;
  double value;
};
const PythonFloatToken kPythonFloatTokens[] = {
    {"-Infinity", R"("\u0001python:-Infinity")", "\x01python:-Infinity",
     -std::numeric_limits<double>::infinity()},
    {"Infinity", R"("\u0001python:Infinity")", "\x01python:Infinity",
     std::numeric_limits<double>::infinity()},
    {"NaN", R"("\u0001python:NaN")", "\x01python:NaN", std::numeric_limits<double>::quiet_NaN()},
};

std::string mark_python_floats(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    const PythonFloatToken* found = nullptr;
    for (const auto& candidate : kPythonFloatTokens) {
      if (text.substr(i).starts_with(candidate.token)) {
        found = &candidate;
        break;
      }
    }
    if (found) {
      out += found->marker;
      i += found->token.size() - 1;
      continue;
    }
    in_string = c == '"';
    out += c;
  }
  return out;
}

bool restore_python_float(int /*depth*/, json::parse_event_t event, json& parsed) {
  if (event != json::parse_event_t::value || !parsed.is_string()) return true;
  const auto& text = parsed.get_ref<const std::string&>();
  for (const auto& candidate : kPythonFloatTokens) {
    if (text == candidate.parsed) {
      parsed = candidate.value;
      break;
    }
  }
  return true;
}

// float.__repr__: the shortest round-trip digits, fixed notation from 1e-4 up to 1e16, and ".0"
// on integral values. fmt's "{}" is the same but for the ".0".
std::string python_float(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string python_string(const std::string& text) {
  return json(text).dump(-1, ' ', true, json::error_handler_t::replace);
}

// json.dumps(value, indent=2, sort_keys=True) with ensure_ascii, Python's default. nlohmann's
// objects are sorted by key bytes, which for UTF-8 is Python's code point order.
void python_dump(const json& value, int depth, std::string& out) {
  const auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<size_t>(2 * level), ' ');
  };
  switch (value.type()) {
    case json::value_t::number_float:
      out += python_float(value.get<double>());
      return;
    case json::value_t::array:
    case json::value_t::object: {
      const bool is_object = value.is_object();
      if (value.empty()) {
        out += is_object ? "{}" : "[]";
        return;
      }
      out += is_object ? '{' : '[';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ',';
        first = false;
        newline(depth + 1);
        if (is_object) out += python_string(it.key()) + ": ";
        python_dump(it.value(), depth + 1, out);
      }
      newline(depth);
      out += is_object ? '}' : ']';
      return;
    }
    case json::value_t::string:
      out += python_string(value.get_ref<const std::string&>());
      return;
    default:
      out += value.dump();
  }
}

// TrainerState declares num_train_epochs an int: Python writes 3, not 3.0.
json python_number(double value) {
  if (std::isfinite(value) && value == std::trunc(value) && std::abs(value) < 0x1p53) {
    return static_cast<int64_t>(value);
  }
  return value;
}

template <typename T>
json or_null(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

std::optional<std::string> nullable_string(const io::JsonObject& o, std::string_view key) {
  if (!o.has(key)) return std::nullopt;
  return o.at(key).as_string();
}

void require(const io::JsonObject& o, std::string_view key) {
  if (!o.has(key)) o.fail(key, "missing (transformers always writes it)");
}

json read_log_history(const io::JsonObject& root) {
  require(root, "log_history");
  const io::JsonValue history = root.at("log_history");
  if (!history.raw().is_array()) history.fail_type("an array of objects");
  for (size_t i = 0; i < history.raw().size(); ++i) {
    io::JsonObject(history.raw()[i], root.source(), io::index_path(history.path(), i));
  }
  return history.raw();
}

json read_stateful_callbacks(const io::JsonObject& root) {
  if (const auto callbacks = root.child("stateful_callbacks")) return callbacks->raw();
  return json::object();
}

}  // namespace

std::string trainer_state_json(const TrainerState& state) {
  const json doc = {
      {"best_global_step", or_null(state.best_global_step)},
      {"best_metric", or_null(state.best_metric)},
      {"best_model_checkpoint", or_null(state.best_model_checkpoint)},
      {"epoch", state.epoch},
      {"eval_steps", state.eval_steps},
      {"global_step", state.global_step},
      {"is_hyper_param_search", false},
      {"is_local_process_zero", state.is_local_process_zero},
      {"is_world_process_zero", state.is_world_process_zero},
      {"log_history", state.log_history},
      {"logging_steps", state.logging_steps},
      {"max_steps", state.max_steps},
      {"num_input_tokens_seen", state.num_input_tokens_seen},
      {"num_train_epochs", python_number(state.num_train_epochs)},
      {"save_steps", state.save_steps},
      {"stateful_callbacks", state.stateful_callbacks},
      {"total_flos", state.total_flos},
      {"train_batch_size", state.train_batch_size},
      {"trial_name", nullptr},
      {"trial_params", nullptr},
  };
  std::string out;
  python_dump(doc, 0, out);
  out += '\n';
  return out;
}

TrainerState parse_trainer_state(const std::filesystem::path& file) {
  return parse_trainer_state_text(util::read_file(file), file.string());
}

TrainerState parse_trainer_state_text(std::string_view text, std::string_view source) {
  const json doc =
      util::parse_json<ConfigError>(mark_python_floats(text), source, restore_python_float);
  const io::JsonObject root(doc, source, "");
  TrainerState s;
  require(root, "global_step");
  s.global_step = root.at("global_step").as_int();
  s.log_history = read_log_history(root);
  s.epoch = root.get_double("epoch", s.epoch);
  s.max_steps = root.get_int("max_steps", s.max_steps);
  s.num_train_epochs = root.get_double("num_train_epochs", s.num_train_epochs);
  s.logging_steps = root.get_int("logging_steps", s.logging_steps);
  s.eval_steps = root.get_int("eval_steps", s.eval_steps);
  s.save_steps = root.get_int("save_steps", s.save_steps);
  s.train_batch_size = root.get_int("train_batch_size", s.train_batch_size);
  s.num_input_tokens_seen = root.get_int("num_input_tokens_seen", s.num_input_tokens_seen);
  s.best_metric = root.get_nullable_double("best_metric", std::nullopt);
  s.best_model_checkpoint = nullable_string(root, "best_model_checkpoint");
  s.best_global_step = root.get_nullable_int("best_global_step", std::nullopt);
  s.total_flos = root.get_double("total_flos", s.total_flos);
  s.is_local_process_zero = root.get_bool("is_local_process_zero", s.is_local_process_zero);
  s.is_world_process_zero = root.get_bool("is_world_process_zero", s.is_world_process_zero);
  s.stateful_callbacks = read_stateful_callbacks(root);
  return s;
}

}  // namespace gemma::train
