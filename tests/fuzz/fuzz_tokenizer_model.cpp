// tokenizer.model files (sentencepiece protobuf): each either loads or throws gemma::Error, and a
// model that loads encodes a fixed text into ids it can name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

#include "gemma/error.h"
#include "processor/tokenizer_spm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::optional<gemma::detail::SentencePieceModel> model;
  try {
    model.emplace(gemma::detail::SentencePieceModel::from_bytes(bytes, "fuzz tokenizer.model"));
  } catch (const gemma::Error&) {
    return 0;  // the expected outcome for malformed input
  }
  std::vector<int64_t> ids;
  try {
    // Spaces already "▁", as the tokenizer hands text over; bytes outside the vocabulary too.
    model->encode("Hello▁world!▁<start_of_turn>user\n\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", ids);
  } catch (const gemma::Error&) {
    return 0;
  }
  for (const int64_t id : ids) {
    if (id < 0 || id >= model->size()) std::abort();
    // What Tokenizer asks of every id; the piece types come from our parse, the ids from
    // sentencepiece's, so a disagreement would surface here.
    const auto found = model->find(model->piece(id));
    if (found && (*found < 0 || *found >= model->size())) std::abort();
    model->is_control(id);
    model->is_user_defined(id);
  }
  return 0;
}
