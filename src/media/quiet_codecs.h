#pragma once
// libpng, libjpeg and FFmpeg print their warnings and errors on stderr from inside OpenCV's
// decoders ("libpng error: IDAT: invalid bit length repeat", "Corrupt JPEG data: ..."), where no
// OpenCV setting reaches them: in a server such lines break the JSON logs, and in the CLI they
// come on top of gemma's own error. While a QuietDecoding lives, their messages are captured
// instead, and gemma's error quotes the last one.
//
// How: libgemma defines png_create_read_struct and jpeg_std_error itself (the dynamic linker
// finds them before libpng's and libjpeg's, as OpenCV's calls go through the global symbol scope)
// and forwards to the real ones, adding quiet handlers only on threads inside a QuietDecoding; any
// other caller in the process gets the libraries' own behaviour. FFmpeg takes a log callback,
// which passes messages on to FFmpeg's default printer unless a video is being decoded (FFmpeg
// logs from its own decoding threads too, so that test is process-wide).
#include <string>

namespace gemma::media {

class QuietDecoding {
 public:
  /// `video`: also capture FFmpeg's log lines.
  explicit QuietDecoding(bool video = false);
  ~QuietDecoding();
  QuietDecoding(const QuietDecoding&) = delete;
  QuietDecoding& operator=(const QuietDecoding&) = delete;

  /// The last message a decoder gave since this QuietDecoding began ("" if none).
  std::string last_message() const;

 private:
  bool video_;
  QuietDecoding* outer_;
};

}  // namespace gemma::media
