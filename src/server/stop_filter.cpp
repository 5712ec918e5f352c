#include "server/stop_filter.h"

#include <algorithm>
#include <utility>

namespace gemma::server {

StopFilter::StopFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopFilter::push(std::string_view piece, bool& stopped) {
  pending_ += piece;
  auto first = std::string::npos;
  for (const auto& stop : stops_) first = std::min(first, pending_.find(stop));
  if (first != std::string::npos) {
    stopped = true;
    auto out = pending_.substr(0, first);
    pending_.clear();
    return out;
  }
  // Hold back the longest end of the text that begins some stop string. A stop string is valid
  // UTF-8, so that end starts on a character boundary.
  size_t keep = 0;
  for (const auto& stop : stops_) {
    for (size_t n = std::min(stop.size() - 1, pending_.size()); n > keep; --n) {
      if (std::string_view(pending_).substr(pending_.size() - n) ==
          std::string_view(stop).substr(0, n)) {
        keep = n;
        break;
      }
    }
  }
  auto out = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string StopFilter::flush() { return std::exchange(pending_, {}); }

}  // namespace gemma::server
