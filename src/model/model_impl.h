#pragma once
// gemma::Model's state, shared with what drives the model from inside the library
// (ContinuousBatcher).
#include "gemma/batch_encoding.h"
#include "gemma/model.h"
#include "model/loader.h"

namespace gemma {

struct Model::Impl {
  model::LoadedModel loaded;
  GenerationDefaults generation;
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;
};

namespace model {
// A Processor output's media tensors, on `device`.
MultimodalInputs media_inputs(const BatchEncoding& in, const at::Device& device);
}  // namespace model

}  // namespace gemma
