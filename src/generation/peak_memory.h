#pragma once
// Peak memory of one generate() call, replacing the recipes' hand-made monitors: on a CUDA device
// the caching allocator's peak of allocated bytes; on the CPU the process's peak resident set size
// (VmHWM), which Linux lets us reset at the start of the call (/proc/self/clear_refs).
#include <c10/core/Device.h>

#include <cstdint>

namespace gemma::generation {

class PeakMemory {
 public:
  explicit PeakMemory(const c10::Device& device);
  int64_t bytes() const;

 private:
  c10::Device device_;
};

}  // namespace gemma::generation
