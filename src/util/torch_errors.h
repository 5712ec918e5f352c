#pragma once
// LibTorch reports failures as c10::Error (or std::bad_alloc); at the public API they become
// gemma::Errors, so that callers catch one hierarchy and the CLI prints one clear line.
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <new>
#include <string_view>
#include <utility>

#include "gemma/error.h"

namespace gemma::util {

[[noreturn]] void rethrow_torch_error(std::string_view what, const c10::Error& e);

/// Runs `fn`; allocation failures become ResourceError and other LibTorch errors InternalError,
/// both naming `what` (the operation: "loading model/", "generate", ...). gemma::Errors pass.
template <class Fn>
decltype(auto) with_torch_errors(std::string_view what, Fn&& fn) {
  try {
    return std::forward<Fn>(fn)();
  } catch (const c10::Error& e) {
    rethrow_torch_error(what, e);
  } catch (const std::bad_alloc&) {
    throw ResourceError(fmt::format("{}: out of memory", what));
  }
}

}  // namespace gemma::util
