#pragma once
/// Errors thrown by gemma. Every message names the input (file, tensor, field, message index) and
/// the problem, and starts with a category tag such as "[gemma.weights]". Library code never aborts
/// or exits on bad input: it throws one of these.
#include <stdexcept>
#include <string>
#include <string_view>

#include "gemma/export.h"

namespace gemma {

/// Append-only: values are part of the API (a future C API returns them).
enum class ErrorCode : int {
  kInvalidArgument = 1,  ///< a caller-supplied value is out of range or malformed
  kIo = 2,               ///< a file or URL cannot be opened, read or written
  kConfig = 3,           ///< a config file is malformed or holds an impossible value
  kWeights = 4,          ///< a checkpoint (safetensors / index) is corrupt or does not fit the model
  kProcessor = 5,        ///< tokenizer, chat template, image or audio input cannot be processed
  kGeneration = 6,       ///< generation failed (over-long prompt, cache exhausted, ...)
  kUnsupported = 7,      ///< a valid input that this version does not handle
  kInternal = 8,         ///< a broken invariant: a bug in gemma
  kResource = 9,         ///< not enough memory (host or device) for the request
};

/// "invalid_argument", "io", "config", "weights", "processor", "generation", "unsupported",
/// "internal", "resource" ("unknown" for a value outside the enum): the tag used in messages. The
/// view points at static storage.
GEMMA_API std::string_view error_category(ErrorCode code) noexcept;

/// Base of every exception gemma throws on purpose; catch it to handle them all, a subclass (one
/// per ErrorCode) to handle one category, or switch on code().
class GEMMA_API Error : public std::runtime_error {
 public:
  /// `message` is the bare text; what() is "[gemma.<category>] <message>".
  Error(ErrorCode code, const std::string& message);
  /// The category; stable across versions (see ErrorCode).
  ErrorCode code() const noexcept { return code_; }
  /// The bare text, without the "[gemma.<category>] " tag, e.g. to wrap it with more context.
  /// The view lives as long as the exception.
  std::string_view message() const noexcept { return std::string_view(what()).substr(prefix_); }

 private:
  ErrorCode code_;
  std::size_t prefix_;
};

#define GEMMA_DEFINE_ERROR(Name, Code)                                   \
  class GEMMA_API Name : public Error {                                  \
   public:                                                               \
    explicit Name(const std::string& message) : Error(Code, message) {} \
  }

/// One subclass per ErrorCode: InvalidArgumentError (kInvalidArgument), IoError (kIo), ConfigError
/// (kConfig), WeightError (kWeights), ProcessorError (kProcessor), GenerationError (kGeneration),
/// UnsupportedError (kUnsupported), InternalError (kInternal), ResourceError (kResource).
GEMMA_DEFINE_ERROR(InvalidArgumentError, ErrorCode::kInvalidArgument);
GEMMA_DEFINE_ERROR(IoError, ErrorCode::kIo);
GEMMA_DEFINE_ERROR(ConfigError, ErrorCode::kConfig);
GEMMA_DEFINE_ERROR(WeightError, ErrorCode::kWeights);
GEMMA_DEFINE_ERROR(ProcessorError, ErrorCode::kProcessor);
GEMMA_DEFINE_ERROR(GenerationError, ErrorCode::kGeneration);
GEMMA_DEFINE_ERROR(UnsupportedError, ErrorCode::kUnsupported);
GEMMA_DEFINE_ERROR(InternalError, ErrorCode::kInternal);
GEMMA_DEFINE_ERROR(ResourceError, ErrorCode::kResource);

#undef GEMMA_DEFINE_ERROR

}  // namespace gemma
