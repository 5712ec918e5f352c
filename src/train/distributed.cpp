#include "train/distributed.h"

#include <ATen/ops/scalar_tensor.h>
#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef GEMMA_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <charconv>
#include <cstdlib>

#include "gemma/error.h"
#include "util/torch_errors.h"

namespace gemma::train {
namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  return std::string(value);
}

int env_int(const char* name, std::optional<int> fallback, int min, int max) {
  auto text = env(name);
  if (!text) {
    if (fallback) return *fallback;
    throw InvalidArgumentError(fmt::format("data parallel training needs the environment variable {}", name));
  }
  int value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    throw InvalidArgumentError(fmt::format("environment variable {}='{}' is not an integer in [{}, {}]",
                                           name, *text, min, max));
  }
  return value;
}

}  // namespace

std::optional<WorldInfo> world_from_environment() {
  if (!env("WORLD_SIZE")) return std::nullopt;
  WorldInfo world;
  world.world_size = env_int("WORLD_SIZE", std::nullopt, 1, 1 << 20);
  if (world.world_size == 1) return std::nullopt;
  world.rank = env_int("RANK", std::nullopt, 0, world.world_size - 1);
  world.local_rank = env_int("LOCAL_RANK", 0, 0, 1 << 20);
  world.master_addr = env("MASTER_ADDR").value_or("127.0.0.1");
  world.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  return world;
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  at::Device device = at::kCPU;  // where NCCL wants the buffers
};

ProcessGroup::ProcessGroup(const WorldInfo& world, const at::Device& device, double timeout_s)
    : world_(world), impl_(std::make_unique<Impl>()) {
  impl_->device = device;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  const auto what = fmt::format("joining the process group at {}:{} as rank {} of {}",
                                world.master_addr, world.master_port, world.rank, world.world_size);
  util::with_torch_errors(what, [&] {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(world.master_port);
    options.isServer = world.rank == 0;
    options.numWorkers = world.world_size;
    options.waitWorkers = true;
    options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
#ifdef GEMMA_WITH_NCCL
    if (device.is_cuda()) {
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      impl_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, world.rank,
                                                                   world.world_size, nccl);
      return;
    }
#endif
    // The CPU, and CUDA in a build without NCCL: Gloo all-reduces CUDA tensors through the host.
    auto gloo = c10d::ProcessGroupGloo::Options::create();
    gloo->timeout = timeout;
    gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, world.rank,
                                                                 world.world_size, gloo);
  });
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  if (tensors.empty()) return;
  util::with_torch_errors("all-reduce across ranks", [&] {
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;
    impl_->backend->allreduce(tensors, options)->wait();
  });
}

double ProcessGroup::all_reduce_sum(double value) {
  std::vector<at::Tensor> one = {at::scalar_tensor(value, at::kDouble).to(impl_->device)};
  all_reduce_sum(one);
  return one[0].item<double>();
}

void ProcessGroup::barrier() {
  util::with_torch_errors("barrier across ranks", [&] { impl_->backend->barrier()->wait(); });
}

}  // namespace gemma::train
