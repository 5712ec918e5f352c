// Developer check used by scripts/check_full_size_audio.py (not a CTest test): loads the audio
// tower of a model directory, runs "input_features" / "input_features_mask" (true = valid, as the
// feature extractor returns it) of an input file through it and writes "audio_tower_output"
// (float32) and "audio_tower_mask" to an output file, timing the forward passes.
//   gemma_run_audio_tower MODEL_DIR INPUT.safetensors OUTPUT.safetensors float32|bfloat16
//                         [REPEATS=1] [THREADS]
#include <ATen/Parallel.h>
#include <ATen/ops/logical_not.h>

#include <chrono>
#include <iostream>
#include <string>

#include "audio/audio_encoder.h"
#include "io/safetensors.h"
#include "io/tensor.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 7) {
    std::cerr << "usage: gemma_run_audio_tower MODEL_DIR INPUT.safetensors OUTPUT.safetensors "
                 "float32|bfloat16 [REPEATS] [THREADS]\n";
    return 2;
  }
  try {
    const std::string dtype_name = argv[4];
    if (dtype_name != "float32" && dtype_name != "bfloat16") {
      std::cerr << "dtype must be float32 or bfloat16, got " << dtype_name << "\n";
      return 2;
    }
    const auto dtype = dtype_name == "bfloat16" ? at::kBFloat16 : at::kFloat;
    const int repeats = argc > 5 ? std::stoi(argv[5]) : 1;
    if (argc > 6) at::set_num_threads(std::stoi(argv[6]));

    auto input = gemma::io::SafetensorsFile::open(argv[2]);
    auto features = gemma::io::to_tensor(input, input.at("input_features"));
    auto padding = at::logical_not(gemma::io::to_tensor(input, input.at("input_features_mask")));
    const auto start = std::chrono::steady_clock::now();
    auto loaded = gemma::audio::load_audio_encoder(argv[1], at::TensorOptions().dtype(dtype));
    const double load_s = seconds_since(start);

    at::NoGradGuard no_grad;
    auto out = loaded.encoder->forward(features, padding);  // warm-up, and the result written
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) loaded.encoder->forward(features, padding);
    const double per_forward = seconds_since(t0) / repeats;
    gemma::io::save_tensors(argv[3],
                            {{"audio_tower_output", out.output.to(at::kFloat).contiguous()},
                             {"audio_tower_mask", out.mask.contiguous()}});
    std::cout << "load_seconds " << load_s << " (" << loaded.report.loaded << " tensors)\n"
              << "threads " << at::get_num_threads() << "\n"
              << "seconds_per_forward " << per_forward << " (" << features.size(0) << " x "
              << features.size(1) << " frames, mean of " << repeats << ")\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
