#include "media/quiet_codecs.h"

#include <dlfcn.h>
#include <png.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

extern "C" {
#include <libavutil/log.h>
}

namespace gemma::media {

namespace {

thread_local QuietDecoding* quiet_here = nullptr;  // innermost QuietDecoding of this thread
thread_local std::string message_here;

std::atomic<int> quiet_videos{0};
std::mutex video_message_mutex;
std::string video_message;  // FFmpeg logs from its own threads too

void record(const char* text) {
  std::string message(text ? text : "");
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (!message.empty()) message_here = std::move(message);
}

void quiet_png_error(png_structp png, png_const_charp message) {
  record(message);
  png_longjmp(png, 1);  // what libpng's default handler does after printing
}

void quiet_png_warning(png_structp, png_const_charp message) { record(message); }

void quiet_jpeg_message(j_common_ptr info) {
  char buffer[JMSG_LENGTH_MAX];
  (*info->err->format_message)(info, buffer);
  record(buffer);
}

void ffmpeg_log(void* context, int level, const char* format, va_list args) {
  if (quiet_videos.load(std::memory_order_relaxed) == 0) {
    av_log_default_callback(context, level, format, args);
    return;
  }
  if (level > AV_LOG_ERROR) return;
  char line[1024];
  std::vsnprintf(line, sizeof line, format, args);
  std::string message(line);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (message.empty()) return;
  const std::lock_guard lock(video_message_mutex);
  video_message = std::move(message);
}

template <class Fn>
Fn real(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

QuietDecoding::QuietDecoding(bool video) : video_(video), outer_(quiet_here) {
  quiet_here = this;
  message_here.clear();
  if (video_) {
    static std::once_flag once;
    std::call_once(once, [] { av_log_set_callback(&ffmpeg_log); });
    if (quiet_videos.fetch_add(1) == 0) {
      const std::lock_guard lock(video_message_mutex);
      video_message.clear();
    }
  }
}

QuietDecoding::~QuietDecoding() {
  quiet_here = outer_;
  if (video_) quiet_videos.fetch_sub(1);
}

std::string QuietDecoding::last_message() const {
  if (!message_here.empty() || !video_) return message_here;
  const std::lock_guard lock(video_message_mutex);
  return video_message;
}

}  // namespace gemma::media

// The interposed entry points (see the header). Default visibility: libgemma is built with hidden
// symbols, and these must be found by OpenCV's calls.
extern "C" __attribute__((visibility("default"))) png_structp png_create_read_struct(
    png_const_charp user_png_ver, png_voidp error_ptr, png_error_ptr error_fn,
    png_error_ptr warn_fn) {
  using Create = png_structp (*)(png_const_charp, png_voidp, png_error_ptr, png_error_ptr);
  static const Create create = gemma::media::real<Create>("png_create_read_struct");
  if (!create) return nullptr;
  if (gemma::media::quiet_here && !error_fn && !warn_fn) {
    error_fn = &gemma::media::quiet_png_error;
    warn_fn = &gemma::media::quiet_png_warning;
  }
  return create(user_png_ver, error_ptr, error_fn, warn_fn);
}

extern "C" __attribute__((visibility("default"))) struct jpeg_error_mgr* jpeg_std_error(
    struct jpeg_error_mgr* err) {
  using StdError = struct jpeg_error_mgr* (*)(struct jpeg_error_mgr*);
  static const StdError std_error = gemma::media::real<StdError>("jpeg_std_error");
  if (!std_error) return err;
  std_error(err);
  if (gemma::media::quiet_here) err->output_message = &gemma::media::quiet_jpeg_message;
  return err;
}
