#pragma once
// GPU utilisation for /metrics from NVML, loaded at run time (libnvidia-ml.so.1 comes with the
// NVIDIA driver, not with the build): a machine without a driver simply has no figure.
#include <optional>

namespace gemma::server {

// The fraction of the last sample period in which device `index` was busy, in [0, 1]; nullopt
// without NVML or the device.
std::optional<double> gpu_utilization(int index);

}  // namespace gemma::server
