#pragma once
// OpenAI's `stop`: the reply ends before the first stop string, which is not sent. Streamed text
// is held back only while its end could still be the start of a stop string.
#include <string>
#include <string_view>
#include <vector>

namespace gemma::server {

class StopFilter {
 public:
  explicit StopFilter(std::vector<std::string> stops);
  // The text that is safe to send after `piece`; `stopped` becomes true at a stop string (the
  // text before it is returned, nothing after).
  std::string push(std::string_view piece, bool& stopped);
  // What is held back, at the end of the reply.
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::string pending_;
};

}  // namespace gemma::server
