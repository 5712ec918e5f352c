// Developer check used by scripts/check_full_size_text.py (not a CTest test): loads a model
// directory, runs the prompt stored in a reference file and compares logits with transformers'.
//   gemma_compare_logits MODEL_DIR REFERENCE.safetensors float32|bfloat16
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <chrono>
#include <iostream>

#include "gemma/error.h"
#include "io/safetensors.h"
#include "io/tensor.h"
#include "model/loader.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: gemma_compare_logits MODEL_DIR REFERENCE.safetensors float32|bfloat16\n";
    return 2;
  }
  try {
    const auto dtype = std::string(argv[3]) == "bfloat16" ? at::kBFloat16 : at::kFloat;
    auto reference = gemma::io::SafetensorsFile::open(argv[2]);
    auto ids = gemma::io::to_tensor(reference, reference.at("input_ids"));
    auto want = gemma::io::to_tensor(reference, reference.at("logits")).to(at::kDouble);

    const auto start = std::chrono::steady_clock::now();
    auto loaded = gemma::model::load_model(argv[1], at::TensorOptions().dtype(dtype));
    const double load_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    at::NoGradGuard no_grad;
    const auto t0 = std::chrono::steady_clock::now();
    auto got = loaded.model->forward({ids}).logits.to(at::kDouble);
    const double forward_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const double diff = (got - want).abs().max().item<double>();
    const double scale = want.abs().max().item<double>();
    const double agree = (got.argmax(-1) == want.argmax(-1)).to(at::kDouble).mean().item<double>();
    std::cout << "load_seconds " << load_s << " (" << loaded.report.loaded << " tensors, "
              << loaded.report.zero_copy << " zero-copy)\n"
              << "forward_seconds " << forward_s << " for " << ids.size(1) << " tokens\n"
              << "max_abs_diff " << diff << "\nmax_abs_logit " << scale << "\nrelative "
              << diff / scale << "\ntop1_agreement " << agree << "\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
