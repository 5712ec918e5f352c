#include "common/args.h"

#include <gemma/error.h>

#include <charconv>
#include <cmath>

namespace examples {
namespace {

bool is_option(std::string_view arg) { return arg.size() > 2 && arg.starts_with("--"); }

[[noreturn]] void bad_value(std::string_view name, std::string_view value, std::string_view want) {
  throw gemma::InvalidArgumentError("--" + std::string(name) + ": '" + std::string(value) +
                                    "' is not " + std::string(want));
}

}  // namespace

Args::Args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (!is_option(arg)) {
      throw gemma::InvalidArgumentError("unexpected argument '" + std::string(arg) +
                                        "': options are --name value");
    }
    const auto body = arg.substr(2);
    if (const auto eq = body.find('='); eq != std::string_view::npos) {
      given_.emplace_back(std::string(body.substr(0, eq)), std::string(body.substr(eq + 1)));
    } else if (i + 1 < argc && !is_option(argv[i + 1])) {
      given_.emplace_back(std::string(body), std::string(argv[++i]));
    } else {
      given_.emplace_back(std::string(body), std::nullopt);
    }
  }
}

std::vector<std::string> Args::texts(std::string_view name,
                                     std::vector<std::string> fallback) const {
  asked_.emplace(name);
  std::vector<std::string> values;
  for (const auto& [key, value] : given_) {
    if (key != name) continue;
    if (!value) throw gemma::InvalidArgumentError("--" + key + " needs a value");
    values.push_back(*value);
  }
  return values.empty() ? std::move(fallback) : values;
}

std::optional<std::string> Args::optional_text(std::string_view name) const {
  auto values = texts(name, {});
  if (values.empty()) return std::nullopt;
  return values.back();  // the last one wins, as in most command-line tools
}

std::string Args::text(std::string_view name, std::string_view fallback) const {
  return optional_text(name).value_or(std::string(fallback));
}

std::optional<int64_t> Args::optional_integer(std::string_view name) const {
  const auto value = optional_text(name);
  if (!value) return std::nullopt;
  int64_t out = 0;
  const auto* end = value->data() + value->size();
  const auto [ptr, ec] = std::from_chars(value->data(), end, out);
  if (ec != std::errc() || ptr != end) bad_value(name, *value, "an integer");
  return out;
}

int64_t Args::integer(std::string_view name, int64_t fallback) const {
  return optional_integer(name).value_or(fallback);
}

std::optional<double> Args::optional_number(std::string_view name) const {
  const auto value = optional_text(name);
  if (!value) return std::nullopt;
  size_t used = 0;
  double out = 0;
  try {
    out = std::stod(*value, &used);
  } catch (const std::exception&) {
    bad_value(name, *value, "a number");
  }
  if (used != value->size() || !std::isfinite(out)) bad_value(name, *value, "a finite number");
  return out;
}

double Args::number(std::string_view name, double fallback) const {
  return optional_number(name).value_or(fallback);
}

bool Args::flag(std::string_view name) const {
  asked_.emplace(name);
  for (const auto& [key, value] : given_) {
    if (key != name) continue;
    if (value) {
      throw gemma::InvalidArgumentError("--" + key + " takes no value, got '" + *value + "'");
    }
    return true;
  }
  return false;
}

void Args::reject_unknown() const {
  for (const auto& [key, value] : given_) {
    if (!asked_.contains(key)) throw gemma::InvalidArgumentError("unknown option --" + key);
  }
}

std::string model_id(const Args& args) { return args.text("model", "models/tiny-gemma3n"); }

gemma::PipelineOptions pipeline_options(const Args& args) {
  gemma::PipelineOptions options;
  options.device = args.text("device", options.device);
  options.dtype = args.text("dtype", options.dtype);
  return options;
}

gemma::ModelOptions model_options(const Args& args) {
  gemma::ModelOptions options;
  options.device = args.text("device", options.device);
  options.dtype = args.text("dtype", options.dtype);
  return options;
}

gemma::GenerationConfig generation_config(const Args& args, gemma::GenerationConfig recipe) {
  if (auto v = args.optional_integer("max-new-tokens")) recipe.max_new_tokens = v;
  if (auto v = args.optional_number("temperature")) recipe.temperature = v;
  if (auto v = args.optional_number("top-p")) recipe.top_p = v;
  if (auto v = args.optional_integer("top-k")) recipe.top_k = v;
  if (auto v = args.optional_integer("seed")) {
    if (*v < 0) bad_value("seed", std::to_string(*v), "a non-negative integer");
    recipe.seed = static_cast<uint64_t>(*v);
  }
  if (args.flag("greedy")) recipe.do_sample = false;
  return recipe;
}

}  // namespace examples
