#pragma once
// Data parallel training over PyTorch's own c10d: a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT
// and ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA; Gloo in builds made without a CUDA
// toolkit, which cannot compile c10d's NCCL header), configured by torchrun's environment
// variables so that torchrun, a Kubernetes indexed Job or a Kubeflow PyTorchJob can start workers.
#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <vector>

namespace gemma::train {

struct WorldInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// From RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; nullopt when WORLD_SIZE is unset or
// 1. InvalidArgumentError naming the variable when one is malformed or missing.
std::optional<WorldInfo> world_from_environment();

class ProcessGroup {
 public:
  // Joins the group (blocks until every rank has joined, at most `timeout_s`).
  ProcessGroup(const WorldInfo& world, const at::Device& device, double timeout_s = 1800);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return world_.rank; }
  int world_size() const { return world_.world_size; }
  // In-place sum over ranks.
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  double all_reduce_sum(double value);
  void barrier();

 private:
  struct Impl;
  WorldInfo world_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemma::train
