#pragma once
// Video frame sampling: load_video_frames, and a streaming form for the processor, which reduces
// each frame to the model's size as it comes instead of holding full-size frames.
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "gemma/image.h"
#include "media/image_decode.h"

namespace gemma::media {

// Receives sampled frames as 0, 1, 2, ... (`index`). A container that overstated its frame count
// is sampled again, and the indices start at 0 again: the sink replaces what it had.
using FrameSink = std::function<void(Image frame, size_t index)>;

// load_video_frames, handing each frame to `sink` and charging `budget` (if any) per frame;
// returns the number of frames of the final pass.
size_t sample_video(std::string_view source, const VideoOptions& options, const MediaLimits& limits,
                    PixelBudget* budget, const FrameSink& sink);

// transformers' default_sample_indices_fn with `fps`, capped at options.max_frames and at
// `total_frames`: ascending indices ⌊i × total_frames / n⌋. A non-positive or non-finite
// `video_fps` (unknown) gives n = max_frames.
std::vector<int64_t> video_frame_indices(int64_t total_frames, double video_fps,
                                         const VideoOptions& options);

}  // namespace gemma::media
