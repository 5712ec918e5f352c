#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <string>

#include "gemma/text_stream.h"

using gemma::TextStream;

TEST_CASE("TextStream yields the producer's pieces in order, then ends", "[text_stream]") {
  TextStream stream([](const TextStream::Sink& sink) {
    for (int i = 0; i < 100; ++i) sink(std::to_string(i) + ",");
  });
  std::string all;
  int count = 0;
  for (const std::string& piece : stream) {
    all += piece;
    ++count;
  }
  CHECK(count == 100);
  CHECK(all.starts_with("0,1,2,"));
  CHECK(all.ends_with("98,99,"));
  CHECK_FALSE(stream.next().has_value());
}

TEST_CASE("TextStream rethrows the producer's exception after its pieces", "[text_stream]") {
  TextStream stream([](const TextStream::Sink& sink) {
    sink("a");
    throw std::runtime_error("generation failed");
  });
  CHECK(stream.next() == std::optional<std::string>("a"));
  CHECK_THROWS_WITH(stream.next(), "generation failed");
  CHECK_FALSE(stream.next().has_value());
}

TEST_CASE("Destroying a TextStream early stops the producer", "[text_stream]") {
  std::atomic<int> produced = 0;
  std::atomic<bool> refused = false;
  {
    TextStream stream([&](const TextStream::Sink& sink) {
      for (int i = 0; i < 1'000'000; ++i) {
        if (!sink("x")) {
          refused = true;
          return;
        }
        ++produced;
      }
    });
    CHECK(stream.next().has_value());
  }
  CHECK(refused);
  CHECK(produced < 1'000'000);
}

TEST_CASE("Assigning over a running TextStream stops the old producer first", "[text_stream]") {
  auto endless = [](const TextStream::Sink& sink) {
    while (sink("x")) {
    }
  };
  TextStream stream(endless);
  CHECK(stream.next().has_value());
  stream = TextStream([](const TextStream::Sink& sink) { sink("new"); });
  CHECK(stream.next() == std::optional<std::string>("new"));
  CHECK_FALSE(stream.next().has_value());
}
