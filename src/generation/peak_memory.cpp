#include "generation/peak_memory.h"

#include <ATen/DeviceAccelerator.h>

#include <fstream>
#include <string>

namespace gemma::generation {

namespace {

// VmHWM from /proc/self/status, in bytes; 0 where unavailable.
int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:  123 kB"
  }
  return 0;
}

}  // namespace

// "cuda" without an index means the first device, as the model places its tensors there.
PeakMemory::PeakMemory(const c10::Device& device)
    : device_(device.is_cuda() && !device.has_index() ? c10::Device(device.type(), 0) : device) {
  if (device_.is_cuda()) {
    at::getDeviceAllocator(device_.type())->resetPeakStats(device_.index());
  } else {
    std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM; harmless where unsupported
  }
}

int64_t PeakMemory::bytes() const {
  if (!device_.is_cuda()) return peak_rss_bytes();
  const auto stats = at::getDeviceAllocator(device_.type())->getDeviceStats(device_.index());
  return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)]
      .peak;
}

}  // namespace gemma::generation
