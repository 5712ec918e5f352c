#include "util/torch_errors.h"

namespace gemma::util {

void rethrow_torch_error(std::string_view what, const c10::Error& e) {
  // The first line: LibTorch appends C++ stack traces after it.
  std::string_view message = e.what_without_backtrace();
  message = message.substr(0, message.find('\n'));
  // CUDA throws OutOfMemoryError; the CPU allocator a plain c10::Error ("DefaultCPUAllocator:
  // can't allocate memory: you tried to allocate N bytes", "not enough memory" in older versions).
  const bool memory = dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
                      message.find("allocate memory") != std::string_view::npos ||
                      message.find("not enough memory") != std::string_view::npos ||
                      message.find("out of memory") != std::string_view::npos;
  if (memory) throw ResourceError(fmt::format("{}: out of memory: {}", what, message));
  throw InternalError(fmt::format("{}: LibTorch failed: {}", what, message));
}

}  // namespace gemma::util
