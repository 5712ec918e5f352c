#include "io/config_parse.h"
#include "io/vision_layout.h"

namespace gemma {

// The checks, loaders and readers shared by the config files (io/config_parse.h).
using namespace io;

namespace {

MobileNetLayout read_layout(const JsonObject& vision, const std::string& architecture) {
  const std::string layout_path = vision.path_of("gemma_cpp_layout");
  const auto layout = vision.child("gemma_cpp_layout");
  if (!layout) {
    if (architecture == io::kMobileNetV5_300mEnc) return MobileNetLayout::mobilenetv5_300m();
    vision.fail("gemma_cpp_layout",
                fmt::format("missing, and architecture \"{}\" has no built-in layout (only \"{}\" "
                            "has); describe the network here (docs/vision-layout.md)",
                            architecture, io::kMobileNetV5_300mEnc));
  }
  if (!layout->has("arch_def")) layout->fail("arch_def", "missing");
  io::LayoutSpec spec;
  spec.arch_def =
      layout->at("arch_def").as_list([](const JsonValue& stage) { return stage.as_string_list(); });
  spec.stem_size = layout->get_int("stem_size", spec.stem_size);
  if (layout->has("msfa_indices")) spec.msfa_indices = layout->at("msfa_indices").as_int_list();
  spec.msfa_output_resolution =
      layout->get_int("msfa_output_resolution", spec.msfa_output_resolution);
  spec.msfa_expansion_ratio = layout->get_double("msfa_expansion_ratio", spec.msfa_expansion_ratio);
  return io::build_mobilenet_layout(spec, vision.source(), layout_path);
}

}  // namespace

VisionConfig io::read_vision_config(const JsonObject& o) {
  VisionConfig c;
  c.architecture = o.get_string("architecture", c.architecture);
  c.hidden_size = o.get_int("hidden_size", c.hidden_size);
  c.vocab_size = o.get_int("vocab_size", c.vocab_size);
  c.vocab_offset = o.get_int("vocab_offset", c.vocab_offset);
  c.rms_norm_eps = o.get_double("rms_norm_eps", c.rms_norm_eps);
  c.do_pooling = o.get_bool("do_pooling", c.do_pooling);
  // timm.create_model(architecture, **model_args) would build a different network than the layout.
  if (o.has("model_args") &&
      !(o.at("model_args").raw().is_object() && o.at("model_args").raw().empty())) {
    o.fail("model_args",
           "timm model_args are not supported; describe the network in "
           "gemma_cpp_layout instead");
  }
  c.layout = read_layout(o, c.architecture);
  return c;
}

void VisionConfig::validate(std::string_view source, std::string_view json_path) const {
  const Checker check(source, json_path);
  if (architecture.empty()) check.fail("architecture", "must not be empty");
  check.positive("hidden_size", hidden_size);
  check.positive("vocab_size", vocab_size);
  check.non_negative("vocab_offset", vocab_offset);
  check.positive("rms_norm_eps", rms_norm_eps);
  layout.validate(source, check.path("gemma_cpp_layout"));
}

}  // namespace gemma
