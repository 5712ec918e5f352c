#include "text/layer_checkpoint.h"

#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <ATen/ops/empty.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <torch/autograd.h>

namespace gemma::text {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct LayerCheckpoint : torch::autograd::Function<LayerCheckpoint> {
  static at::Tensor forward(AutogradContext* autograd, at::Tensor streams, at::Tensor per_layer_input,
                            at::Tensor shared_k, at::Tensor shared_v, DecoderLayerImpl* layer,
                            AttentionContext* ctx) {
    autograd->saved_data["layer"] = reinterpret_cast<int64_t>(layer);
    // The context lives on the caller's stack: keep its tables (no gradient) for the recompute.
    for (int type = 0; type < 2; ++type) {
      autograd->saved_data[fmt::format("cos{}", type)] = ctx->cos[type];
      autograd->saved_data[fmt::format("sin{}", type)] = ctx->sin[type];
      autograd->saved_data[fmt::format("mask{}", type)] = ctx->mask[type];
    }
    auto generator = at::globalContext().defaultGenerator(streams.device());
    autograd->saved_data["rng"] = generator.get_state();
    autograd->save_for_backward({streams, per_layer_input, shared_k, shared_v});
    return layer->forward(streams, per_layer_input, *ctx);
  }

  static variable_list backward(AutogradContext* autograd, variable_list grad_outputs) {
    auto* layer = reinterpret_cast<DecoderLayerImpl*>(autograd->saved_data["layer"].toInt());
    AttentionContext ctx;
    for (int type = 0; type < 2; ++type) {
      ctx.cos[type] = autograd->saved_data[fmt::format("cos{}", type)].toTensor();
      ctx.sin[type] = autograd->saved_data[fmt::format("sin{}", type)].toTensor();
      ctx.mask[type] = autograd->saved_data[fmt::format("mask{}", type)].toTensor();
    }
    // Every input is defined (an empty tensor stands for no shared K/V).
    variable_list inputs;
    for (auto& t : autograd->get_saved_variables()) inputs.push_back(t.detach().requires_grad_(t.requires_grad()));
    const int type = layer->self_attn->layer_type();
    if (inputs[2].numel() > 0) ctx.shared_kv[type] = {inputs[2], inputs[3]};
    // The recompute draws the same dropout masks as the forward did.
    auto generator = at::globalContext().defaultGenerator(inputs[0].device());
    const auto current = generator.get_state();
    generator.set_state(autograd->saved_data["rng"].toTensor());
    at::Tensor out;
    {
      at::AutoGradMode enable(true);
      out = layer->forward(inputs[0], inputs[1], ctx);
    }
    generator.set_state(current);
    torch::autograd::backward({out}, {grad_outputs[0]});
    variable_list result;
    for (auto& t : inputs) result.push_back(t.requires_grad() ? t.grad() : at::Tensor());
    result.emplace_back();  // layer
    result.emplace_back();  // ctx
    return result;
  }
};

}  // namespace

at::Tensor checkpointed_layer(DecoderLayerImpl& layer, const at::Tensor& streams,
                              const at::Tensor& per_layer_input, AttentionContext& ctx) {
  // Autograd functions take no undefined tensors: empty ones stand for "no shared K/V".
  auto k = at::empty({0}, streams.options()), v = k;
  if (layer.self_attn->reads_shared_kv()) std::tie(k, v) = ctx.shared_kv[layer.self_attn->layer_type()];
  // Below the first trainable parameter nothing requires grad, and a function whose inputs need
  // none is never differentiated: the layer's own trainable parameters would get no gradient
  // (what PEFT's enable_input_require_grads works around for transformers).
  auto input = streams;
  if (!input.requires_grad()) input = input.detach().requires_grad_(true);
  return LayerCheckpoint::apply(input, per_layer_input, k, v, &layer, &ctx);
}

}  // namespace gemma::text
