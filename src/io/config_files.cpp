#include "io/config_parse.h"
#include "util/files.h"

namespace gemma {

namespace fs = std::filesystem;
// The checks, loaders and readers shared by the config files (io/config_parse.h).
using namespace io;

std::optional<io::LoadedJson> io::load_optional_json(const fs::path& path) {
  auto text = util::read_optional_file(path);
  if (!text) return std::nullopt;
  io::LoadedJson loaded{path.string(), {}};
  loaded.doc = io::parse_json(*text, loaded.source);
  return loaded;
}

io::LoadedJson io::load_required_json(const fs::path& path) {
  auto loaded = load_optional_json(path);
  if (!loaded) throw IoError(fmt::format("cannot open {}: no such file", path.string()));
  return std::move(*loaded);
}

void io::load_chat_template(const fs::path& dir, ModelFiles& files) {
  const fs::path jinja = dir / "chat_template.jinja";
  if (auto text = util::read_optional_file(jinja)) {
    files.chat_template = std::move(*text);
    files.chat_template_file = jinja.string();
  } else if (const auto legacy = load_optional_json(dir / "chat_template.json")) {
    files.chat_template =
        JsonObject(legacy->doc, legacy->source, "").get_string("chat_template", "");
    files.chat_template_file = legacy->source;
  } else {
    files.chat_template = files.tokenizer.chat_template;
    files.chat_template_file = (dir / "tokenizer_config.json").string();
  }
  if (files.chat_template.empty()) files.chat_template_file.clear();
}

}  // namespace gemma
