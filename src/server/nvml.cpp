#include "server/nvml.h"

#include <dlfcn.h>

namespace gemma::server {
namespace {

// The few NVML entry points used, with the C API's types spelled out (no NVML headers needed).
struct Nvml {
  struct Utilization {
    unsigned int gpu, memory;
  };
  using Init = int (*)();
  using HandleByIndex = int (*)(unsigned int, void**);
  using UtilizationRates = int (*)(void*, Utilization*);

  HandleByIndex handle_by_index = nullptr;
  UtilizationRates utilization_rates = nullptr;

  Nvml() {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    auto init = reinterpret_cast<Init>(dlsym(lib, "nvmlInit_v2"));
    handle_by_index = reinterpret_cast<HandleByIndex>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    utilization_rates =
        reinterpret_cast<UtilizationRates>(dlsym(lib, "nvmlDeviceGetUtilizationRates"));
    if (!init || init() != 0) handle_by_index = nullptr;  // NVML_SUCCESS is 0
  }
};

}  // namespace

std::optional<double> gpu_utilization(int index) {
  static const Nvml nvml;
  if (!nvml.handle_by_index || !nvml.utilization_rates || index < 0) return std::nullopt;
  void* device = nullptr;
  Nvml::Utilization rates{};
  if (nvml.handle_by_index(static_cast<unsigned int>(index), &device) != 0 ||
      nvml.utilization_rates(device, &rates) != 0) {
    return std::nullopt;
  }
  return rates.gpu / 100.0;
}

}  // namespace gemma::server
