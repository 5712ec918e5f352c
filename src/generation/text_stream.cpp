#include "gemma/text_stream.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace gemma {

struct TextStream::State {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::string> pieces;
  std::exception_ptr error;
  bool done = false;
  bool cancelled = false;
  std::thread worker;
};

TextStream::TextStream(std::function<void(const Sink&)> producer)
    : state_(std::make_unique<State>()) {
  State* s = state_.get();
  s->worker = std::thread([s, producer = std::move(producer)] {
    const Sink sink = [s](std::string_view piece) {
      std::lock_guard lock(s->mutex);
      if (s->cancelled) return false;
      s->pieces.emplace_back(piece);
      s->ready.notify_one();
      return true;
    };
    try {
      producer(sink);
    } catch (...) {
      std::lock_guard lock(s->mutex);
      s->error = std::current_exception();
    }
    std::lock_guard lock(s->mutex);
    s->done = true;
    s->ready.notify_one();
  });
}

TextStream::TextStream(TextStream&&) noexcept = default;

TextStream& TextStream::operator=(TextStream&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

TextStream::~TextStream() { stop(); }

void TextStream::stop() noexcept {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->cancelled = true;
  }
  if (state_->worker.joinable()) state_->worker.join();
}

std::optional<std::string> TextStream::next() {
  std::unique_lock lock(state_->mutex);
  state_->ready.wait(lock, [&] { return !state_->pieces.empty() || state_->done; });
  if (!state_->pieces.empty()) {
    std::string piece = std::move(state_->pieces.front());
    state_->pieces.pop_front();
    return piece;
  }
  if (state_->error) std::rethrow_exception(std::exchange(state_->error, nullptr));
  return std::nullopt;
}

}  // namespace gemma
