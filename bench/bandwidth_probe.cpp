// The decode ceiling of this machine: its memory read bandwidth (threads summing a buffer far larger
// than the caches), and with --model the bytes of weights one decode step must read, so that
// ceiling tokens/s = bandwidth / bytes. A decode step reads every text-decoder weight once (the
// tied embedding matrix as the LM head included) except the per-layer-embedding table, of which it
// gathers one row per layer, and the dead K/V projections that hub checkpoints still carry for
// KV-shared layers; the towers and multimodal embedders are not read at all. It also measures the
// bfloat16 matrix-product throughput (at::matmul, prefill-shaped), which bounds prefill: a prompt
// token costs 2 FLOPs per decoder weight (the LM head runs for the last position only).
// Prints one JSON object.
//   gemma_bandwidth_probe [--model DIR] [--dtype bfloat16|float32|int8] [--threads N] [--gib G]
//                         [--runs R]
#include <ATen/Parallel.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randn.h>
#include <gemma/config.h>
#include <gemma/error.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>
#include <vector>

namespace {

// Best of `runs` passes of `threads` threads each summing its slice of `buffer`; bytes per second.
double read_bandwidth(const std::vector<uint64_t>& buffer, int threads, int runs) {
  double best = 0;
  std::vector<uint64_t> sums(static_cast<std::size_t>(threads));
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    const std::size_t slice = buffer.size() / static_cast<std::size_t>(threads);
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        const uint64_t* p = buffer.data() + slice * static_cast<std::size_t>(t);
        uint64_t a = 0, b = 0, c = 0, d = 0;
        for (std::size_t i = 0; i + 4 <= slice; i += 4) {
          a += p[i];
          b ^= p[i + 1];
          c += p[i + 2];
          d ^= p[i + 3];
        }
        sums[static_cast<std::size_t>(t)] = a + b + c + d;
      });
    }
    for (auto& w : workers) w.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(slice * threads * sizeof(uint64_t)) / seconds);
  }
  uint64_t keep = 0;
  for (auto s : sums) keep ^= s;
  if (keep == 42) std::cerr << "";  // keeps the sums observable
  return best;
}

nlohmann::json safetensors_header(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  uint64_t length = 0;
  in.read(reinterpret_cast<char*>(&length), sizeof(length));
  if (!in || length > (uint64_t{100} << 20)) throw gemma::WeightError(file.string() + ": not safetensors");
  std::string text(length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(length));
  return nlohmann::json::parse(text);
}

struct DecodeBytes {
  uint64_t read = 0, ple_table = 0, dead_kv = 0, not_read = 0;
  uint64_t read_elements = 0, lm_head_elements = 0;
};

// Best of `runs` bfloat16 products [512, 2048] x [2048, 8192] (an E2B MLP projection over a
// 512-token prompt); FLOPs per second.
double matmul_flops(int threads, int runs) {
  at::set_num_threads(threads);
  const int64_t m = 512, k = 2048, n = 8192;
  auto a = at::randn({m, k}).to(at::kBFloat16);
  auto b = at::randn({k, n}).to(at::kBFloat16);
  at::matmul(a, b);  // oneDNN's first call creates its kernels
  double best = 0;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    at::matmul(a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * m * k * n / s);
  }
  return best;
}

// Bytes per element of a safetensors dtype name (the float types checkpoints use).
uint64_t element_bytes(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "BF16" || dtype == "F16") return 2;
  return 1;
}

DecodeBytes decode_bytes(const std::filesystem::path& dir, double dtype_bytes) {
  const auto config = gemma::load_model_config(dir);
  const int64_t first_shared = config.text.num_hidden_layers - config.text.num_kv_shared_layers;
  static const std::regex kv(R"(model\.language_model\.layers\.(\d+)\.self_attn\.(k_proj|v_proj|k_norm)\.weight)");
  DecodeBytes out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".safetensors") continue;
    const auto header = safetensors_header(entry.path());  // items() only references it
    for (const auto& [name, info] : header.items()) {
      if (name == "__metadata__") continue;
      uint64_t elements = 1;
      for (const auto& d : info["shape"]) elements *= d.get<uint64_t>();
      // The step reads weights in the run's dtype, whatever the checkpoint stores.
      const auto bytes = static_cast<uint64_t>(static_cast<double>(elements) *
                                               (dtype_bytes > 0 ? dtype_bytes : element_bytes(info["dtype"])));
      std::smatch m;
      if (!name.starts_with("model.language_model.")) {
        out.not_read += bytes;
      } else if (name.find("embed_tokens_per_layer") != std::string::npos) {
        out.ple_table += bytes;
      } else if (std::regex_match(name, m, kv) && std::stoll(m[1].str()) >= first_shared) {
        out.dead_kv += bytes;
      } else {
        out.read += bytes;
        out.read_elements += elements;
        if (name == "model.language_model.embed_tokens.weight") out.lm_head_elements = elements;
      }
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"memory read bandwidth and the decode ceiling it implies"};
  std::string model, dtype = "bfloat16";
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double gib = 2;
  int runs = 5;
  app.add_option("--model", model, "Model directory: also report the decode ceiling");
  app.add_option("--dtype", dtype,
                 "Weights in the run (bfloat16, float32, int8; 'stored': as stored)")
      ->capture_default_str();
  app.add_option("--threads", threads, "Reading threads")->capture_default_str();
  app.add_option("--gib", gib, "Buffer size (far larger than the last-level cache)")->capture_default_str();
  app.add_option("--runs", runs, "Passes (the best is reported)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    std::vector<uint64_t> buffer(static_cast<std::size_t>(gib * (1 << 30)) / sizeof(uint64_t));
    for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = i * 2654435761u;  // touch every page
    const double bandwidth = read_bandwidth(buffer, threads, runs);
    const double flops = matmul_flops(threads, runs);
    nlohmann::json report = {{"threads", threads}, {"buffer_gib", gib},
                             {"read_bandwidth_gb_per_s", bandwidth / 1e9},
                             {"bf16_matmul_gflop_per_s", flops / 1e9}};
    if (!model.empty()) {
      // int8: one byte per weight (the per-channel scales and the unquantised norms are noise).
      const double dtype_bytes = dtype == "float32" ? 4 : dtype == "bfloat16" ? 2 : dtype == "int8" ? 1 : 0;
      const auto bytes = decode_bytes(model, dtype_bytes);
      report["dtype"] = dtype;
      report["decode_bytes_per_token"] = bytes.read;
      report["ple_table_bytes_not_read"] = bytes.ple_table;
      report["dead_kv_bytes_not_read"] = bytes.dead_kv;
      report["towers_and_embedders_bytes_not_read"] = bytes.not_read;
      report["decode_ceiling_tokens_per_s"] = bandwidth / static_cast<double>(bytes.read);
      const double prefill_flops = 2.0 * static_cast<double>(bytes.read_elements - bytes.lm_head_elements);
      report["prefill_flops_per_token"] = prefill_flops;
      report["bf16_prefill_ceiling_tokens_per_s"] = flops / prefill_flops;
    }
    std::cout << report.dump() << std::endl;
  } catch (const gemma::Error& e) {
    std::cerr << "gemma_bandwidth_probe: " << e.what() << "\n";
    return 1;
  }
}
