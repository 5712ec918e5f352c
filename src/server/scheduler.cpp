#include "server/scheduler.h"

#include <ATen/DeviceAccelerator.h>
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "gemma/continuous_batching.h"
#include "gemma/error.h"
#include "gemma/model.h"
#include "gemma/tokenizer.h"
#include "server/stop_filter.h"

namespace gemma::server {
namespace {

using Clock = std::chrono::steady_clock;

JobEvent error_event(int status, std::string type, std::string code, std::string message) {
  JobEvent e;
  e.kind = JobEvent::Kind::kError;
  e.status = status;
  e.error_type = std::move(type);
  e.error_code = std::move(code);
  e.message = std::move(message);
  return e;
}

// What a gemma::Error means to the client: its own input (400), our limits (503), or our bug.
JobEvent error_event(const Error& e) {
  const auto message = std::string(e.message());
  switch (e.code()) {
    case ErrorCode::kGeneration:
      return error_event(400, "invalid_request_error", "context_length_exceeded", message);
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kIo:
    case ErrorCode::kProcessor:
    case ErrorCode::kUnsupported:
      return error_event(400, "invalid_request_error", "invalid_value", message);
    case ErrorCode::kResource:
      return error_event(503, "server_error", "resource_exhausted", message);
    default:
      return error_event(500, "server_error", "", message);
  }
}

// One job while it runs: turns tokens into text events, applies stop strings, the deadline and
// cancellation, and reports the end once.
struct Running {
  Job job;
  Clock::time_point submitted;
  Tokenizer::StreamDecoder decoder;
  StopFilter stop;
  std::vector<int64_t> eos;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double ttft = 0;
  bool ended = false;

  void emit_text(std::string text) {
    if (text.empty()) return;
    JobEvent e;
    e.text = std::move(text);
    job.on_event(std::move(e));
  }
  void finish(const std::string& reason) {
    emit_text(stop.flush());
    JobEvent e;
    e.kind = JobEvent::Kind::kDone;
    e.finish_reason = reason;
    e.prompt_tokens = prompt_tokens;
    e.completion_tokens = completion_tokens;
    e.time_to_first_token = ttft;
    ended = true;
    job.on_event(std::move(e));
  }
  void fail(JobEvent e) {
    e.prompt_tokens = prompt_tokens;
    e.completion_tokens = completion_tokens;
    ended = true;
    job.on_event(std::move(e));
  }

  bool on_token(const TokenEvent& t) {
    if (ended) return false;
    if (completion_tokens++ == 0) {
      ttft = std::chrono::duration<double>(Clock::now() - submitted).count();
    }
    if (*job.cancelled) {
      // Nobody reads it, but the request's coroutine ends on it (and logs the tokens spent).
      fail(error_event(499, "invalid_request_error", "client_closed",
                       "the client closed the connection"));
      return false;
    }
    bool stopped = false;
    emit_text(stop.push(decoder.push(t.token), stopped));
    if (stopped) {
      finish("stop");
      return false;
    }
    if (t.last) {
      emit_text(stop.push(decoder.flush(), stopped));
      const bool eos_token = std::find(eos.begin(), eos.end(), t.token) != eos.end();
      finish(eos_token || stopped ? "stop" : "length");
      return false;
    }
    if (Clock::now() > job.deadline) {
      fail(error_event(504, "server_error", "timeout",
                       "the request ran past the server's request timeout"));
      return false;
    }
    return true;
  }
};

}  // namespace

struct Scheduler::Impl {
  Model model;
  const Processor& processor;  // owned by the caller, who outlives the scheduler
  SchedulerOptions options;
  ContinuousBatcher batcher;
  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::pair<Job, Clock::time_point>> queue;
  std::vector<std::shared_ptr<Running>> running;
  std::atomic<int64_t> running_count{0};
  std::atomic<int64_t> device_bytes{0};
  // One count per accepted job, released when the job's last copy goes (see submit()).
  std::shared_ptr<std::atomic<int64_t>> in_flight = std::make_shared<std::atomic<int64_t>>(0);
  bool stopping = false;
  std::thread thread;

  Impl(const Model& m, const Processor& p, SchedulerOptions o)
      : model(m), processor(p), options(std::move(o)), batcher(m) {
    options.chat.audio_features_per_clip = true;  // a row's reply must not depend on its batch
  }

  void loop();
  at::Device cuda_device() const {
    const auto device = model.device();
    return device.has_index() ? device : at::Device(device.type(), 0);
  }
  void record_device_memory() {
    if (!model.device().is_cuda()) return;
    const auto device = cuda_device();
    const auto stats = at::getDeviceAllocator(device.type())->getDeviceStats(device.index());
    device_bytes =
        stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)]
            .current;
  }
  void admit(Job job, Clock::time_point submitted);
  void step();
};

void Scheduler::Impl::admit(Job job, Clock::time_point submitted) {
  if (*job.cancelled) return;
  if (Clock::now() > job.deadline) {
    job.on_event(error_event(504, "server_error", "timeout",
                             "the request waited past the server's request timeout"));
    return;
  }
  const auto& tokenizer = processor.tokenizer();
  auto row = std::make_shared<Running>(
      Running{std::move(job), submitted, tokenizer.stream_decoder(true), StopFilter({}), {}});
  try {
    const auto inputs = processor.apply_chat_template(row->job.conversation, options.chat);
    row->prompt_tokens = inputs.input_ids.size(1);
    row->stop = StopFilter(row->job.stop);
    auto& max_new = row->job.generation.max_new_tokens;
    if (!max_new) {
      const auto room = model.config().text.max_position_embeddings - row->prompt_tokens;
      max_new = std::max<int64_t>(1, std::min(options.default_max_tokens, room));
    }
    const auto resolved =
        resolve_generation(row->job.generation, model.generation_defaults(), row->prompt_tokens);
    row->eos = resolved.eos_token_ids;
    batcher.add(inputs, row->job.generation,
                [row](const TokenEvent& t) { return row->on_token(t); });
  } catch (const Error& e) {
    if (!row->ended) row->fail(error_event(e));
    return;
  }
  if (!row->ended) running.push_back(std::move(row));
}

void Scheduler::Impl::step() {
  try {
    batcher.step();
  } catch (const Error& e) {
    for (auto& row : running) {
      if (!row->ended) row->fail(error_event(e));
    }
  }
  std::erase_if(running, [](const auto& row) { return row->ended; });
  // A row whose client left ends at its next token; one that ended otherwise left the batcher.
}

void Scheduler::Impl::loop() {
  for (;;) {
    std::vector<std::pair<Job, Clock::time_point>> admitted;
    {
      std::unique_lock lock(mutex);
      wake.wait(lock, [&] { return stopping || !queue.empty() || !running.empty(); });
      if (stopping) break;
      while (!queue.empty() &&
             static_cast<int64_t>(running.size() + admitted.size()) < options.max_batch) {
        admitted.push_back(std::move(queue.front()));
        queue.pop_front();
      }
    }
    for (auto& [job, submitted] : admitted) admit(std::move(job), submitted);
    if (batcher.size() > 0) step();
    record_device_memory();
    std::lock_guard lock(mutex);
    running_count = static_cast<int64_t>(running.size());
  }
  const auto gone =
      error_event(503, "server_error", "shutting_down", "the server is shutting down");
  for (auto& row : running) {
    if (!row->ended) row->fail(gone);
  }
  for (auto& [job, submitted] : queue) job.on_event(gone);
}

Scheduler::Scheduler(const Model& model, const Processor& processor, SchedulerOptions options)
    : impl_(std::make_unique<Impl>(model, processor, std::move(options))) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
}

bool Scheduler::submit(Job job) {
  // The callback owns a token that counts the job until the job is destroyed, however it ends.
  auto counted = std::shared_ptr<void>((++*impl_->in_flight, nullptr),
                                       [count = impl_->in_flight](void*) { --*count; });
  job.on_event = [inner = std::move(job.on_event), counted](JobEvent e) { inner(std::move(e)); };
  {
    std::lock_guard lock(impl_->mutex);
    if (static_cast<int64_t>(impl_->queue.size()) >= impl_->options.max_waiting) return false;
    impl_->queue.emplace_back(std::move(job), Clock::now());
  }
  impl_->wake.notify_one();
  return true;
}

int64_t Scheduler::running() const { return impl_->running_count; }

std::optional<std::pair<int, int64_t>> Scheduler::device_memory() const {
  if (!impl_->model.device().is_cuda()) return std::nullopt;
  return std::pair<int, int64_t>{impl_->cuda_device().index(), impl_->device_bytes.load()};
}

int64_t Scheduler::in_flight() const { return *impl_->in_flight; }

int64_t Scheduler::waiting() const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<int64_t>(impl_->queue.size());
}

}  // namespace gemma::server
