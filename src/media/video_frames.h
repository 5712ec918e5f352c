#pragma once
// Frame selection of load_video_frames, separate so that tests can check it on any frame count.
#include <cstdint>
#include <vector>

#include "gemma/image.h"

namespace gemma::media {

// transformers' default_sample_indices_fn with `fps`, capped at options.max_frames and at
// `total_frames`: ascending indices ⌊i × total_frames / n⌋. A non-positive or non-finite
// `video_fps` (unknown) gives n = max_frames.
std::vector<int64_t> video_frame_indices(int64_t total_frames, double video_fps,
                                         const VideoOptions& options);

}  // namespace gemma::media
