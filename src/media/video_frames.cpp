#include "media/video_frames.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/videoio.hpp>
#include <string>

#include "gemma/error.h"
#include "media/image_decode.h"
#include "media/image_mat.h"
#include "media/quiet_codecs.h"
#include "media/source.h"
#include "util/files.h"

namespace gemma {

namespace media {

std::vector<int64_t> video_frame_indices(int64_t total_frames, double video_fps,
                                         const VideoOptions& options) {
  int64_t n = options.max_frames;
  if (video_fps > 0 && std::isfinite(video_fps)) {
    const double wanted = std::trunc(static_cast<double>(total_frames) / video_fps * options.fps);
    n = static_cast<int64_t>(std::clamp(wanted, 1.0, static_cast<double>(n)));
  }
  n = std::min(n, total_frames);
  std::vector<int64_t> indices(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) indices[i] = i * total_frames / n;
  return indices;
}

namespace {

namespace fs = std::filesystem;

// A downloaded or data-URI video on disk for OpenCV, which only opens files; removed on scope exit.
class TempFile {
 public:
  TempFile(const std::string& bytes, std::string_view name) {
    std::error_code ec;
    auto dir = fs::temp_directory_path(ec);
    if (ec) dir = "/tmp";
    path_ = (dir / "gemma-video-XXXXXX").string();
    const int fd = ::mkstemp(path_.data());
    if (fd < 0)
      throw IoError(fmt::format("{}: cannot create a temporary file in {}", name, dir.string()));
    size_t written = 0;
    while (written < bytes.size()) {
      const auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
    ::close(fd);
    if (written < bytes.size()) {
      fs::remove(path_, ec);
      throw IoError(fmt::format("{}: cannot write the temporary file {}", name, path_));
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// FFmpeg's image2 and tty demuxers open still images and text files as one-frame "videos"; the
// first bytes tell them apart from video containers.
void refuse_non_video(const std::string& path, std::string_view name) {
  std::string head(512, '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  const std::string_view h(head);
  const bool image = h.starts_with("\x89PNG") || h.starts_with("\xFF\xD8\xFF") ||
                     h.starts_with("GIF8") || h.starts_with("BM") ||
                     (h.starts_with("RIFF") && h.substr(8, 4) == "WEBP");
  if (image) {
    throw ProcessorError(
        fmt::format("{}: an image, not a video (pass it as an image part instead)", name));
  }
  const bool text = !h.empty() && std::all_of(h.begin(), h.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 || c == '\n' || c == '\r' || c == '\t';
  });
  if (text) throw ProcessorError(fmt::format("{}: text, not a video", name));
}

using Clock = std::chrono::steady_clock;

// OpenCV reports sizes and counts as doubles read from the container, which may say anything:
// NaN, negative or beyond int64 (UB to convert) counts as unknown (0).
int64_t container_count(double value) {
  constexpr double kMax = 1e12;  // more frames or pixels than any real video has
  return value >= 0 && value <= kMax ? static_cast<int64_t>(value) : 0;
}

// One video's passes share its limits: the decoding deadline, the frame size, the pixel budget.
class VideoReader {
 public:
  VideoReader(std::string path, std::string_view name, const MediaLimits& limits,
              PixelBudget* budget)
      : path_(std::move(path)),
        name_(name),
        limits_(limits),
        budget_(budget),
        deadline_(
            Clock::now() +
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                // A year for "no limit"; NaN and negatives stop at once.
                std::clamp(
                    std::isnan(limits.video_timeout_seconds) ? 0.0 : limits.video_timeout_seconds,
                    0.0, 3.2e7)))) {}

  // FFmpeg only: CAP_ANY would also accept a still image as a one-frame "video". Frames larger
  // than max_image_pixels are refused from the stream's header, before any is decoded.
  cv::VideoCapture open() const {
    cv::VideoCapture capture;
    try {
      capture.open(path_, cv::CAP_FFMPEG);
    } catch (const cv::Exception& e) {
      throw ProcessorError(fmt::format("{}: cannot open the video: {}", name_, e.err));
    }
    if (!capture.isOpened()) {
      const auto why = quiet_.last_message();
      throw ProcessorError(fmt::format("{}: not a video OpenCV's FFmpeg backend can open{}", name_,
                                       why.empty() ? "" : " (" + why + ")"));
    }
    const auto width = container_count(capture.get(cv::CAP_PROP_FRAME_WIDTH));
    const auto height = container_count(capture.get(cv::CAP_PROP_FRAME_HEIGHT));
    check_image_size(width, height, "video frame", name_, limits_);
    return capture;
  }

  // The next frame, decoded, within the deadline.
  bool grab(cv::VideoCapture& capture) const {
    if (Clock::now() > deadline_) {
      throw ProcessorError(
          fmt::format("{}: decoding took longer than {} s (MediaLimits::video_timeout_seconds)",
                      name_, limits_.video_timeout_seconds));
    }
    return capture.grab();
  }

  // The grabbed frame as RGB, charged to the request's pixel budget.
  Image retrieve(cv::VideoCapture& capture, int64_t index) const {
    cv::Mat frame;
    if (!capture.retrieve(frame) || frame.empty()) {
      throw ProcessorError(fmt::format("{}: frame {} cannot be decoded", name_, index));
    }
    check_image_size(frame.cols, frame.rows, "video frame", name_, limits_);
    if (budget_) budget_->take(frame.cols, frame.rows, name_);
    return rgb_from_mat(frame, name_);
  }

  std::string_view name() const { return name_; }

 private:
  std::string path_;
  std::string_view name_;
  const MediaLimits& limits_;
  PixelBudget* budget_;
  Clock::time_point deadline_;
  QuietDecoding quiet_{/*video=*/true};
};

int64_t count_frames(const VideoReader& reader) {
  auto capture = reader.open();
  int64_t count = 0;
  while (reader.grab(capture)) ++count;
  return count;
}

// Decodes in order (exact, unlike seeking) and hands the frames at `indices` (ascending) to
// `sink` as 0, 1, ...; returns the frames decoded (the true frame count when it came up short).
int64_t read_frames(const VideoReader& reader, const std::vector<int64_t>& indices,
                    const FrameSink& sink) {
  auto capture = reader.open();
  int64_t decoded = 0;
  size_t kept = 0;
  while (kept < indices.size() && reader.grab(capture)) {
    if (decoded == indices[kept]) {
      sink(reader.retrieve(capture, decoded), kept);
      ++kept;
    }
    ++decoded;
  }
  return kept == indices.size() ? -1 : decoded;
}

size_t sample_frames(const VideoReader& reader, const VideoOptions& options,
                     const FrameSink& sink) {
  double fps = 0;
  int64_t total = 0;
  {
    auto capture = reader.open();
    fps = capture.get(cv::CAP_PROP_FPS);
    total = container_count(capture.get(cv::CAP_PROP_FRAME_COUNT));
  }
  if (total <= 0) total = count_frames(reader);  // containers without a frame count
  if (total > 0) {
    const auto indices = video_frame_indices(total, fps, options);
    const int64_t short_count = read_frames(reader, indices, sink);
    if (short_count < 0) return indices.size();
    // The container overstated its frame count: sample the frames it really has, again from 0.
    if (short_count > 0) {
      const auto again = video_frame_indices(short_count, fps, options);
      if (read_frames(reader, again, sink) < 0) return again.size();
    }
  }
  throw ProcessorError(fmt::format("{}: the video has no frames", reader.name()));
}

}  // namespace

size_t sample_video(std::string_view source, const VideoOptions& options, const MediaLimits& limits,
                    PixelBudget* budget, const FrameSink& sink) {
  if (!(options.fps > 0) || !std::isfinite(options.fps) || options.max_frames < 1 ||
      options.max_frames > kMaxVideoFrames) {
    throw InvalidArgumentError(fmt::format(
        "load_video_frames: need fps > 0 and max_frames in [1, {}], got fps {} and max_frames {}",
        kMaxVideoFrames, options.fps, options.max_frames));
  }
  if (is_http_url(source) || is_data_uri(source) || source.starts_with("file://")) {
    const auto bytes = read_media(source, "video", limits);
    const TempFile file(bytes.bytes, bytes.name);
    refuse_non_video(file.path(), bytes.name);
    return sample_frames(VideoReader(file.path(), bytes.name, limits, budget), options, sink);
  }
  const std::string path(source);
  // A FIFO or a device would hang or never end in FFmpeg.
  util::open_regular_file(path, limits.max_bytes);
  refuse_non_video(path, path);
  return sample_frames(VideoReader(path, path, limits, budget), options, sink);
}

}  // namespace media

std::vector<Image> load_video_frames(std::string_view source, const VideoOptions& options,
                                     const MediaLimits& limits) {
  std::vector<Image> frames;
  const size_t count =
      media::sample_video(source, options, limits, nullptr, [&](Image frame, size_t index) {
        frames.resize(index + 1);
        frames[index] = std::move(frame);
      });
  frames.resize(count);
  return frames;
}

}  // namespace gemma
