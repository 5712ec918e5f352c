// The bundled model's real chat template with arbitrary messages, through apply_chat_template as
// the processor calls it. Input: one byte of flags (bit 0: add_generation_prompt), the messages
// JSON, optionally a 0 byte and a JSON object of extra template variables.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "gemma/config.h"
#include "gemma/error.h"
#include "jinja/jinja.h"
#include "processor/chat_template.h"
#include "util/files.h"
#include "util/json.h"

namespace {

using Json = nlohmann::ordered_json;

struct Model {
  gemma::jinja::Template tmpl;
  gemma::TokenizerConfig tokens;
};

const Model& model() {
  static const Model m = [] {
    const std::filesystem::path dir = GEMMA_TINY_MODEL_DIR;
    return Model{gemma::jinja::Template::parse(gemma::util::read_file(dir / "chat_template.jinja"),
                                               "chat_template.jinja"),
                 gemma::load_tokenizer_config(dir)};
  }();
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto nul = input.find('\0');
  const Model& m = model();  // outside the try: failing to load it is no finding
  gemma::RenderOptions options;
  options.add_generation_prompt = (data[0] & 1) != 0;
  options.limits.max_output_bytes = std::size_t{1} << 20;
  options.limits.max_work = 2'000'000;
  try {
    const Json messages = gemma::util::parse_json<gemma::InvalidArgumentError, Json>(
        input.substr(0, nul), "messages");
    if (nul != std::string_view::npos) {
      options.extra = gemma::util::parse_json<gemma::InvalidArgumentError, Json>(
          input.substr(nul + 1), "extra");
    }
    gemma::apply_chat_template(m.tmpl, messages, m.tokens, options);
  } catch (const gemma::Error&) {
    // The expected outcome for malformed messages or a template's raise_exception.
  }
  return 0;
}
