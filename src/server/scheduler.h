#pragma once
// The serving loop: one thread owns the model and a ContinuousBatcher. Jobs wait in a bounded
// queue and join the running batch at step boundaries (prompt building and prefill happen then,
// on this thread); every job streams events back through its callback, which must not block.
// Torch-free header: the HTTP side includes it.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gemma/generation_config.h"
#include "gemma/messages.h"
#include "gemma/processor.h"

namespace gemma {
class Model;
}

namespace gemma::server {

struct JobEvent {
  enum class Kind { kText, kDone, kError };
  Kind kind = Kind::kText;
  std::string text;           // kText: the next piece of the reply (UTF-8 complete)
  std::string finish_reason;  // kDone: "stop" or "length"
  int64_t prompt_tokens = 0;  // kDone and kError (0 when the prompt was never built)
  int64_t completion_tokens = 0;
  double time_to_first_token = 0;  // seconds from submit to the first token
  // kError: an HTTP status and OpenAI error type/code for it.
  int status = 500;
  std::string error_type, error_code, message;
};

struct Job {
  Conversation conversation;
  GenerationConfig generation;    // without stop strings: those are `stop`
  std::vector<std::string> stop;  // OpenAI stop strings, applied to the text, not sent
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Set by the HTTP side when the client is gone: the job leaves at the next step, silently.
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  std::function<void(JobEvent)> on_event;  // called on the scheduler thread
};

struct SchedulerOptions {
  int64_t max_batch = 8;     // requests decoded together
  int64_t max_waiting = 64;  // queued beyond that: submit() refuses
  // max_new_tokens of a job that sets none, cut to what the context leaves after the prompt.
  int64_t default_max_tokens = 512;
  ChatTemplateOptions chat;  // media limits, video sampling, long audio
};

class Scheduler {
 public:
  // Starts the thread. The model is shared; `processor` must outlive the scheduler.
  Scheduler(const Model& model, const Processor& processor, SchedulerOptions options);
  // Stops the thread: waiting and running jobs get an error event (503).
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues `job`; false (and no event) when the queue is full.
  bool submit(Job job);
  int64_t running() const;
  int64_t waiting() const;
  // Jobs accepted by submit() and not yet over (their last event sent, or dropped after their
  // client left): what a drain waits for.
  int64_t in_flight() const;
  // On CUDA: the device index and the bytes the caching allocator holds for tensors, as of the
  // last decode step; nullopt on the CPU.
  std::optional<std::pair<int, int64_t>> device_memory() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemma::server
