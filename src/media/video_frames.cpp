#include "media/video_frames.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/videoio.hpp>
#include <string>

#include "gemma/error.h"
#include "media/image_decode.h"
#include "media/source.h"

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

}  // namespace media

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

// FFmpeg only: CAP_ANY would also accept a still image as a one-frame "video".
cv::VideoCapture open_video(const std::string& path, std::string_view name) {
  cv::VideoCapture capture;
  try {
    capture.open(path, cv::CAP_FFMPEG);
  } catch (const cv::Exception& e) {
    throw ProcessorError(fmt::format("{}: cannot open the video: {}", name, e.err));
  }
  if (!capture.isOpened()) {
    throw ProcessorError(fmt::format("{}: not a video OpenCV's FFmpeg backend can open", name));
  }
  return capture;
}

int64_t count_frames(const std::string& path, std::string_view name) {
  auto capture = open_video(path, name);
  int64_t count = 0;
  while (capture.grab()) ++count;
  return count;
}

struct Pass {
  std::vector<Image> frames;
  int64_t decoded = 0;  // frames decoded; the true frame count when frames came up short
};

// Decodes in order (exact, unlike seeking) and keeps the frames at `indices` (ascending).
Pass read_frames(const std::string& path, std::string_view name,
                 const std::vector<int64_t>& indices) {
  auto capture = open_video(path, name);
  Pass pass;
  cv::Mat frame;
  while (pass.frames.size() < indices.size() && capture.grab()) {
    if (pass.decoded == indices[pass.frames.size()]) {
      if (!capture.retrieve(frame) || frame.empty()) {
        throw ProcessorError(fmt::format("{}: frame {} cannot be decoded", name, pass.decoded));
      }
      pass.frames.push_back(media::rgb_from_mat(frame, name));
    }
    ++pass.decoded;
  }
  return pass;
}

std::vector<Image> sample_frames(const std::string& path, std::string_view name,
                                 const VideoOptions& options) {
  refuse_non_video(path, name);
  double fps = 0;
  int64_t total = 0;
  {
    auto capture = open_video(path, name);
    fps = capture.get(cv::CAP_PROP_FPS);
    total = static_cast<int64_t>(capture.get(cv::CAP_PROP_FRAME_COUNT));
  }
  if (total <= 0) total = count_frames(path, name);  // containers without a frame count
  if (total > 0) {
    const auto indices = media::video_frame_indices(total, fps, options);
    auto pass = read_frames(path, name, indices);
    if (pass.frames.size() == indices.size()) return std::move(pass.frames);
    total = pass.decoded;  // the container overstated its frame count: sample the real ones
    if (total > 0) {
      return read_frames(path, name, media::video_frame_indices(total, fps, options)).frames;
    }
  }
  throw ProcessorError(fmt::format("{}: the video has no frames", name));
}

}  // namespace

std::vector<Image> load_video_frames(std::string_view source, const VideoOptions& options) {
  if (!(options.fps > 0) || !std::isfinite(options.fps) || options.max_frames < 1) {
    throw InvalidArgumentError(fmt::format(
        "load_video_frames: need fps > 0 and max_frames >= 1, got fps {} and max_frames {}",
        options.fps, options.max_frames));
  }
  if (media::is_http_url(source) || media::is_data_uri(source) || source.starts_with("file://")) {
    const auto media = media::read_media(source, "video");
    const TempFile file(media.bytes, media.name);
    return sample_frames(file.path(), media.name, options);
  }
  const std::string path(source);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw IoError(fmt::format("video file {}: {}", path,
                              fs::exists(path, ec) ? "not a regular file" : "no such file"));
  }
  return sample_frames(path, path, options);
}

}  // namespace gemma
