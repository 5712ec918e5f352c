// Developer check used by scripts/check_full_size_vision.py (not a CTest test): loads the vision
// tower of a model directory, runs the "pixel_values" of an input file through it and writes
// "vision_tower_output" (float32) to an output file, timing the forward passes.
//   gemma_run_vision_tower MODEL_DIR INPUT.safetensors OUTPUT.safetensors float32|bfloat16
//                          [REPEATS=1] [THREADS]
#include <ATen/Parallel.h>

#include <chrono>
#include <iostream>
#include <string>

#include "io/safetensors.h"
#include "io/tensor.h"
#include "vision/standalone.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 7) {
    std::cerr << "usage: gemma_run_vision_tower MODEL_DIR INPUT.safetensors OUTPUT.safetensors "
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
    auto pixels = gemma::io::to_tensor(input, input.at("pixel_values"));
    const auto start = std::chrono::steady_clock::now();
    auto loaded = gemma::vision::load_standalone_tower(argv[1], at::TensorOptions().dtype(dtype));
    const double load_s = seconds_since(start);

    at::NoGradGuard no_grad;
    auto& tower = loaded.tower;
    auto output = tower->forward(pixels);  // warm-up, and the result written
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) tower->forward(pixels);
    const double per_forward = seconds_since(t0) / repeats;
    gemma::io::save_tensors(argv[3], {{"vision_tower_output", output.to(at::kFloat).contiguous()}});
    std::cout << "load_seconds " << load_s << " (" << loaded.report.loaded << " tensors)\n"
              << "threads " << at::get_num_threads() << "\n"
              << "seconds_per_forward " << per_forward << " (" << pixels.size(0)
              << " images, mean of " << repeats << ")\n"
              << "images_per_second " << pixels.size(0) / per_forward << "\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
