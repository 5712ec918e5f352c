// Recipe "performance monitoring" (huggingface-gemma-recipes, performance_monitor and
// collect_system_metrics): wall time and memory around loading and each generation, plus what
// generate() measures itself (GenerationStats): time to first token, prefill and decode speed.
// Memory is the process's resident set (host memory; on CUDA the weights live on the device).
//
//   gemma_example_performance_report [--model DIR_OR_HUB_ID] [--prompt TEXT] [--image PATH_OR_URL]
//       [--runs 3] [--max-new-tokens 64] [--seed N] [--device cuda] [--dtype bfloat16]
#include <gemma/error.h>
#include <gemma/pipeline.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/args.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

// Current resident set: the second field of /proc/self/statm, in pages.
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE));
}

struct Usage {
  double cpu_seconds;  // user + system, all threads
  double peak_bytes;   // peak resident set
};

Usage usage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto secs = [](timeval t) { return t.tv_sec + t.tv_usec / 1e6; };
  return {secs(u.ru_utime) + secs(u.ru_stime), u.ru_maxrss * 1024.0};  // ru_maxrss is in KiB
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    const auto prompt = args.text("prompt", "Summarise the history of the bicycle in a paragraph.");
    const auto image = args.optional_text("image");
    const auto runs = args.integer("runs", 3);
    if (runs < 1) throw gemma::InvalidArgumentError("--runs must be at least 1");
    const auto config = examples::generation_config(args, {.max_new_tokens = 64});
    const auto options = examples::pipeline_options(args);
    const auto model = examples::model_id(args);
    args.reject_unknown();

    const double rss_before = resident_bytes();
    const auto load_start = Clock::now();
    const auto pipe =
        gemma::pipeline(image ? "image-text-to-text" : "text-generation", model, options);
    std::printf("load: %.3f s, resident memory %+.1f MiB\n", seconds_since(load_start),
                mib(resident_bytes() - rss_before));

    gemma::Message message = gemma::chat::user({gemma::chat::text(prompt)});
    if (image) message.content.insert(message.content.begin(), gemma::chat::image(*image));
    double ttft_sum = 0, decode_sum = 0;  // over the runs after the warm-up
    for (int64_t run = 1; run <= runs; ++run) {
      const double rss = resident_bytes();
      const auto cpu_start = usage().cpu_seconds;
      const auto start = Clock::now();
      const auto output = pipe({message}, config);
      const double wall = seconds_since(start);
      const auto& s = output.stats;
      std::printf(
          "run %lld%s: wall %.3f s, cpu %.3f s; %lld prompt + %lld new tokens; time to first "
          "token %.3f s; prefill %.1f tokens/s; decode %.1f tokens/s; resident memory %+.1f MiB\n",
          static_cast<long long>(run), run == 1 ? " (warm-up)" : "", wall,
          usage().cpu_seconds - cpu_start, static_cast<long long>(s.prompt_tokens),
          static_cast<long long>(s.new_tokens), s.time_to_first_token_seconds,
          s.prefill_tokens_per_second(), s.decode_tokens_per_second(), mib(resident_bytes() - rss));
      if (run > 1) {
        ttft_sum += s.time_to_first_token_seconds;
        decode_sum += s.decode_tokens_per_second();
      }
    }
    if (runs > 1) {
      std::printf("mean of runs 2-%lld: time to first token %.3f s, decode %.1f tokens/s\n",
                  static_cast<long long>(runs), ttft_sum / (runs - 1), decode_sum / (runs - 1));
    }
    std::printf("peak resident memory: %.1f MiB\n", mib(usage().peak_bytes));
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
