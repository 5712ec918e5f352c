#pragma once
/// Pull-style streaming, as transformers' TextIteratorStreamer: generation runs on its own thread
/// and the caller iterates over the text pieces as they arrive.
///
///     for (const std::string& piece : pipe.stream(conversation)) std::cout << piece << std::flush;
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gemma/export.h"

namespace gemma {

/// Move-only; owns the producer thread. One consumer: next() and the iterators are not for
/// concurrent use, and a moved-from stream must not be read.
class GEMMA_API TextStream {
 public:
  /// Receives text pieces; returning false asks the producer to stop.
  using Sink = std::function<bool(std::string_view piece)>;
  /// Runs `producer(sink)` on a new thread. The producer calls the sink with every piece; pieces
  /// queue up without bound until next() takes them.
  explicit TextStream(std::function<void(const Sink&)> producer);
  /// Moves the running stream; the moved-from object is empty.
  TextStream(TextStream&&) noexcept;
  TextStream& operator=(TextStream&&) noexcept;
  /// Stops the producer (its sink returns false from then on) and joins the thread.
  ~TextStream();

  /// The next piece, blocking until one arrives; nullopt once the producer has finished. An
  /// exception the producer threw is rethrown here, after the pieces before it.
  std::optional<std::string> next();

  /// Input iterator over the pieces, for range-for; each ++ blocks as next() does, and the
  /// iteration rethrows what next() rethrows.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(TextStream* stream) : stream_(stream) { ++*this; }
    const std::string& operator*() const { return *piece_; }
    iterator& operator++() {
      piece_ = stream_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !piece_.has_value(); }

   private:
    TextStream* stream_ = nullptr;
    std::optional<std::string> piece_;
  };
  /// Starts the iteration (blocks for the first piece); call once.
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  struct State;
  void stop() noexcept;  // cancels the producer and joins its thread
  std::unique_ptr<State> state_;
};

}  // namespace gemma
