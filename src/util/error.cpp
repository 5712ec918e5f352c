#include "gemma/error.h"

namespace gemma {

std::string_view error_category(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kConfig: return "config";
    case ErrorCode::kWeights: return "weights";
    case ErrorCode::kProcessor: return "processor";
    case ErrorCode::kGeneration: return "generation";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kResource: return "resource";
  }
  return "unknown";
}

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error("[gemma." + std::string(error_category(code)) + "] " + message),
      code_(code),
      prefix_(std::string_view(what()).size() - message.size()) {}

}  // namespace gemma
