// Image and video input: the decoder's PIL rules (EXIF orientation, 16-bit, alpha), bad input,
// cv::Mat and raw RGB input, the processor on small cases whose values transformers 5.23 computed,
// and video frame sampling on a video written at run time.
#include <array>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "gemma/error.h"
#include "gemma/image_processor.h"
#include "gemma/opencv.h"
#include "gemma/processor.h"
#include "media/image_header.h"
#include "media/video_frames.h"
#include "support/catch_torch.h"
#include "support/paths.h"
#include "util/files.h"

namespace {

namespace fs = std::filesystem;

template <class E, class F>
void require_throws(F&& call, const std::string& needle) {
  try {
    call();
    FAIL("no exception; expected one mentioning " << needle);
  } catch (const E& e) {
    CHECK_THAT(e.what(), Catch::Contains(needle));
  }
}

std::string encode(const cv::Mat& mat, const std::string& ext) {
  std::vector<uint8_t> out;
  REQUIRE(cv::imencode(ext, mat, out));
  return {out.begin(), out.end()};
}

uint32_t crc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

// A PNG with an eXIf chunk (little-endian TIFF, IFD0 = {Orientation}) right after IHDR.
std::string png_with_orientation(const cv::Mat& mat, uint16_t orientation) {
  const std::string tiff{"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0", 18};
  const std::string exif =
      tiff + std::string{char(orientation), '\0', '\0', '\0', '\0', '\0', '\0', '\0'};
  const std::string body = "eXIf" + exif;
  auto png = encode(mat, ".png");
  png.insert(33, be32(static_cast<uint32_t>(exif.size())) + body + be32(crc32(body)));
  return png;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t chunk = 0;
    for (size_t k = 0; k < 3; ++k) chunk = chunk << 8 | (k < n ? uint8_t(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(chunk >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::array<uint8_t, 3> pixel(const gemma::Image& image, int64_t x, int64_t y) {
  const auto* p = &image.rgb[static_cast<size_t>((y * image.width + x) * 3)];
  return {p[0], p[1], p[2]};
}

fs::path bad(const char* name) { return gemma::test::data_dir() / "images" / "bad" / name; }

}  // namespace

TEST_CASE("EXIF orientations 1-8 are applied as PIL's exif_transpose", "[unit][image]") {
  // 3x2, every pixel distinct; BGR in the Mat.
  cv::Mat stored(2, 3, CV_8UC3);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x)
      stored.at<cv::Vec3b>(y, x) = {50, uint8_t(20 + 100 * y), uint8_t(10 + 80 * x)};
  }
  const int64_t w = 3, h = 2;
  for (uint16_t o = 1; o <= 8; ++o) {
    INFO("orientation " << o);
    const auto bytes = png_with_orientation(stored, o);
    CHECK(gemma::media::read_image_header(bytes, "t").orientation == o);
    const auto image = gemma::decode_image(bytes, "t");
    REQUIRE(image.width == (o >= 5 ? h : w));
    REQUIRE(image.height == (o >= 5 ? w : h));
    for (int64_t y = 0; y < image.height; ++y) {
      for (int64_t x = 0; x < image.width; ++x) {
        // Where displayed pixel (x, y) is stored (EXIF 2.3, table of Orientation values).
        const std::array<std::array<int64_t, 2>, 8> source{{{x, y},
                                                            {w - 1 - x, y},
                                                            {w - 1 - x, h - 1 - y},
                                                            {x, h - 1 - y},
                                                            {y, x},
                                                            {y, h - 1 - x},
                                                            {w - 1 - y, h - 1 - x},
                                                            {w - 1 - y, x}}};
        const auto [sx, sy] = source[o - 1];
        const std::array<uint8_t, 3> want{uint8_t(10 + 80 * sx), uint8_t(20 + 100 * sy), 50};
        CHECK(pixel(image, x, y) == want);
      }
    }
  }
  // Values outside 1..8 are ignored, as PIL does.
  CHECK(gemma::media::read_image_header(png_with_orientation(stored, 9), "t").orientation == 1);
}

TEST_CASE("16-bit and alpha PNGs decode as PIL's convert(\"RGB\")", "[unit][image]") {
  SECTION("16-bit gray is clipped at 255 (PIL's I;16 -> RGB)") {
    cv::Mat gray(1, 6, CV_16UC1);
    const std::array<uint16_t, 6> values{0, 1, 255, 256, 300, 65535};
    for (int i = 0; i < 6; ++i) gray.at<uint16_t>(0, i) = values[i];
    const auto image = gemma::decode_image(encode(gray, ".png"), "gray16");
    for (int i = 0; i < 6; ++i) {
      const auto v = uint8_t(std::min<int>(values[i], 255));
      CHECK(pixel(image, i, 0) == std::array<uint8_t, 3>{v, v, v});
    }
  }
  SECTION("16-bit colour keeps the high byte; alpha is dropped, not composited") {
    cv::Mat bgra(1, 2, CV_16UC4);
    bgra.at<cv::Vec4w>(0, 0) = {0x1234, 0xABCD, 0xFF00, 0};
    bgra.at<cv::Vec4w>(0, 1) = {0x00FF, 0x0100, 0x8080, 0xFFFF};
    const auto image = gemma::decode_image(encode(bgra, ".png"), "rgba16");
    CHECK(pixel(image, 0, 0) == std::array<uint8_t, 3>{0xFF, 0xAB, 0x12});
    CHECK(pixel(image, 1, 0) == std::array<uint8_t, 3>{0x80, 0x01, 0x00});
  }
  SECTION("8-bit RGBA with alpha 0 keeps its colour") {
    cv::Mat bgra(1, 1, CV_8UC4, cv::Scalar(10, 20, 30, 0));
    CHECK(pixel(gemma::decode_image(encode(bgra, ".png"), "rgba8"), 0, 0) ==
          std::array<uint8_t, 3>{30, 20, 10});
  }
}

TEST_CASE("header sizes of every supported format", "[unit][image]") {
  const cv::Mat colour(7, 11, CV_8UC3, cv::Scalar(1, 2, 3));
  const cv::Mat gray(7, 11, CV_8UC1, cv::Scalar(4));
  for (const auto& [ext, mat] : {std::pair{".png", colour},
                                 {".jpg", colour},
                                 {".webp", colour},
                                 {".bmp", colour},
                                 {".ppm", colour},
                                 {".pgm", gray}}) {
    INFO(ext);
    const auto bytes = encode(mat, ext);
    const auto header = gemma::media::read_image_header(bytes, ext);
    CHECK(header.width == 11);
    CHECK(header.height == 7);
    CHECK(gemma::decode_image(bytes, ext).rgb.size() == 7 * 11 * 3);
  }
}

TEST_CASE("PNM sizes are read as OpenCV reads them, or refused", "[unit][image]") {
  // Found by fuzz_image_decode: these headers gave a smaller size than OpenCV decodes, which let
  // a larger image past the pixel limit.
  using namespace std::string_literals;
  const auto cr = gemma::media::read_image_header("P5\n#c\r4 4\n# \n1 1\n255\n"s, "cr.pgm");
  CHECK(cr.width == 4);
  CHECK(cr.height == 4);
  for (const auto& bytes : {"P6\n1#1\n255\n"s, "P5 00000000014 4 255\n"s, "P61 1 255\n"s}) {
    INFO(bytes);
    CHECK_THROWS_AS(gemma::media::read_image_header(bytes, "bad.pnm"), gemma::ProcessorError);
  }
}

TEST_CASE("bad image input throws gemma errors naming the input", "[unit][image]") {
  for (const char* name : {"truncated.png", "truncated.jpg", "not_an_image.png"}) {
    const auto path = bad(name).string();
    require_throws<gemma::ProcessorError>([&] { gemma::load_image(path); }, path);
  }
  require_throws<gemma::ProcessorError>([&] { gemma::load_image(bad("truncated.jpg").string()); },
                                        "truncated");
  require_throws<gemma::IoError>([&] { gemma::load_image(bad("empty.png").string()); },
                                 "empty.png");
  require_throws<gemma::ProcessorError>([] { gemma::decode_image("", "nothing.png"); },
                                        "nothing.png");
  // Forged headers: refused before any pixel memory is allocated.
  for (const char* name : {"huge_100000x100000.png", "huge_100000x100000.bmp"}) {
    require_throws<gemma::ProcessorError>([&] { gemma::load_image(bad(name).string()); },
                                          "100000x100000");
  }
  require_throws<gemma::UnsupportedError>(
      [] { gemma::decode_image(std::string("GIF89a\x01\0\x01\0\0\0\0;", 13), "anim.gif"); },
      "anim.gif: GIF");
  require_throws<gemma::UnsupportedError>(
      [] { gemma::decode_image(encode(cv::Mat(2, 2, CV_8UC3), ".tiff"), "scan.tiff"); },
      "scan.tiff: TIFF");
  require_throws<gemma::IoError>([] { gemma::load_image("http://127.0.0.1:9/x.png"); },
                                 "127.0.0.1:9/x.png");
  require_throws<gemma::IoError>([] { gemma::load_image("/nonexistent/dir/cat.png"); },
                                 "/nonexistent/dir/cat.png");
}

TEST_CASE("load_image reads paths, file:// URLs and data: URIs alike", "[unit][image]") {
  const auto path = (gemma::test::data_dir() / "images" / "palette_200x120.png").string();
  const auto from_path = gemma::load_image(path);
  CHECK(from_path.width == 200);
  CHECK(from_path.height == 120);
  CHECK(gemma::load_image("file://" + path).rgb == from_path.rgb);
  const auto uri = "data:image/png;base64," + base64(gemma::util::read_file(path));
  CHECK(gemma::load_image(uri).rgb == from_path.rgb);
}

TEST_CASE("image_from_rgb and image_from_mat copy and validate", "[unit][image]") {
  const std::vector<uint8_t> rgb{1, 2, 3, 4, 5, 6};
  const auto image = gemma::image_from_rgb(rgb.data(), 2, 1);
  CHECK(image.rgb == rgb);
  require_throws<gemma::InvalidArgumentError>([] { gemma::image_from_rgb(nullptr, 1, 1); }, "null");
  require_throws<gemma::InvalidArgumentError>([&] { gemma::image_from_rgb(rgb.data(), 0, 1); },
                                              "0x1");
  require_throws<gemma::InvalidArgumentError>(
      [&] { gemma::image_from_rgb(rgb.data(), 1 << 20, 1 << 20); }, "1048576x1048576");

  cv::Mat bgr(2, 3, CV_8UC3, cv::Scalar(3, 2, 1));
  bgr.at<cv::Vec3b>(1, 2) = {9, 8, 7};
  const auto from_bgr = gemma::image_from_mat(bgr);
  CHECK(pixel(from_bgr, 0, 0) == std::array<uint8_t, 3>{1, 2, 3});
  CHECK(pixel(from_bgr, 2, 1) == std::array<uint8_t, 3>{7, 8, 9});
  // A region of interest has a row stride wider than its width.
  const auto roi = gemma::image_from_mat(bgr(cv::Rect(1, 1, 2, 1)));
  CHECK(roi.width == 2);
  CHECK(pixel(roi, 1, 0) == std::array<uint8_t, 3>{7, 8, 9});
  CHECK(pixel(gemma::image_from_mat(cv::Mat(1, 1, CV_8UC4, cv::Scalar(3, 2, 1, 0))), 0, 0) ==
        std::array<uint8_t, 3>{1, 2, 3});
  CHECK(pixel(gemma::image_from_mat(cv::Mat(1, 1, CV_8UC1, cv::Scalar(42))), 0, 0) ==
        std::array<uint8_t, 3>{42, 42, 42});
  require_throws<gemma::InvalidArgumentError>([] { gemma::image_from_mat(cv::Mat()); },
                                              "image_from_mat");
  require_throws<gemma::InvalidArgumentError>(
      [] { gemma::image_from_mat(cv::Mat(2, 2, CV_16UC3)); }, "depth 2");
  require_throws<gemma::InvalidArgumentError>([] { gemma::image_from_mat(cv::Mat(2, 2, CV_8UC2)); },
                                              "2 channels");
}

namespace {

// 7x5 RGB, value (37x + 91y + 53c) mod 256.
gemma::Image pattern() {
  gemma::Image image{7, 5, {}};
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 7; ++x) {
      for (int c = 0; c < 3; ++c) image.rgb.push_back(uint8_t((x * 37 + y * 91 + c * 53) % 256));
    }
  }
  return image;
}

gemma::ImageProcessorConfig small_config(int64_t resample) {
  gemma::ImageProcessorConfig config;
  config.size = {3, 4};
  config.resample = resample;
  config.do_rescale = false;
  config.do_normalize = false;
  return config;
}

at::Tensor floats(const std::vector<float>& values) {
  return at::tensor(values).view({1, 3, 3, 4});
}

}  // namespace

TEST_CASE("the processor resizes like transformers' SiglipImageProcessor", "[unit][image]") {
  // SiglipImageProcessor(size={"height": 3, "width": 4}, resample=R, do_rescale=False,
  // do_normalize=False)(images=[pattern]) under transformers 5.23 / torchvision 0.26 on an AVX512
  // CPU: uint8 values, exact.
  const std::vector<std::pair<int64_t, std::vector<float>>> cases{
      {0, {0,   74,  148, 222, 182, 0,   74,  148, 108, 182, 0,  74,  53,  127, 201, 19, 235, 53,
           127, 201, 161, 235, 53,  127, 106, 180, 254, 72,  32, 106, 180, 254, 214, 32, 106, 180}},
      {2,
       {58,  116, 162, 137, 137, 88,  117, 132, 88,  146, 109, 126, 111, 169, 158, 109, 129, 113,
        140, 152, 141, 158, 121, 121, 159, 134, 151, 99,  105, 120, 136, 178, 187, 135, 95,  122}},
      {3,
       {55,  120, 166, 132, 145, 83,  117, 133, 83,  151, 106, 127, 108, 175, 161, 103, 129, 109,
        144, 154, 142, 156, 121, 124, 162, 131, 155, 96,  101, 120, 132, 183, 190, 137, 91,  120}}};
  for (const auto& [resample, want] : cases) {
    INFO("resample " << resample);
    const auto got = gemma::ImageProcessor(small_config(resample)).preprocess({pattern()});
    CHECK(got.scalar_type() == at::kFloat);
    CHECK(at::equal(got, floats(want)));
  }
}

TEST_CASE("the processor rescales and normalises like transformers (fused, float32)",
          "[unit][image]") {
  auto config = small_config(3);
  config.do_normalize = true;
  config.image_mean = {0.4, 0.5, 0.6};
  config.image_std = {0.2, 0.3, 0.25};
  SECTION("rescale + normalise") {
    config.do_rescale = true;
    const auto want =
        floats({-0.921568632f, 0.352941185f,  1.25490201f,    0.588235319f,  0.843137264f,
                -0.372549027f, 0.294117659f,  0.607843161f,   -0.372549027f, 0.960784316f,
                0.0784313753f, 0.490196079f,  -0.254901975f,  0.620915055f,  0.4379085f,
                -0.320261449f, 0.0196078438f, -0.241830066f,  0.215686277f,  0.346405238f,
                0.189542487f,  0.372549027f,  -0.0849673226f, -0.045751635f, 0.141176477f,
                -0.345098048f, 0.0313725509f, -0.894117653f,  -0.815686285f, -0.517647088f,
                -0.329411775f, 0.470588237f,  0.580392182f,   -0.250980407f, -0.972549021f,
                -0.517647088f});
    const auto got = gemma::ImageProcessor(config).preprocess({pattern()});
    CHECK(at::equal(got, want));
  }
  SECTION("normalise only") {
    const auto want =
        floats({273,         598,         828,         658,         723,         413,
                583,         663,         413,         753,         528,         633,
                358.333313f, 581.666626f, 535,         341.666656f, 428.333313f, 361.666656f,
                478.333313f, 511.666656f, 471.666656f, 518.333313f, 401.666656f, 411.666656f,
                645.599976f, 521.599976f, 617.599976f, 381.600006f, 401.600006f, 477.600006f,
                525.599976f, 729.599976f, 757.599976f, 545.599976f, 361.600006f, 477.600006f});
    const auto got = gemma::ImageProcessor(config).preprocess({pattern()});
    CHECK(at::equal(got, want));
  }
}

TEST_CASE("the processor rejects bad configs and images", "[unit][image]") {
  auto config = small_config(1);
  require_throws<gemma::UnsupportedError>([&] { (void)gemma::ImageProcessor{config}; },
                                          "resample 1");
  config.resample = 2;
  config.size = {0, 4};
  require_throws<gemma::ConfigError>([&] { (void)gemma::ImageProcessor{config}; }, "size.height");
  const gemma::ImageProcessor processor(small_config(2));
  require_throws<gemma::InvalidArgumentError>([&] { processor.preprocess({}); }, "no images");
  auto short_image = pattern();
  short_image.rgb.pop_back();
  require_throws<gemma::InvalidArgumentError>(
      [&] {
        processor.preprocess({pattern(), short_image});
      },
      "image 1 is 7x5");
  auto no_resize = small_config(2);
  no_resize.do_resize = false;
  gemma::Image other{1, 1, {1, 2, 3}};
  require_throws<gemma::InvalidArgumentError>(
      [&] {
        gemma::ImageProcessor(no_resize).preprocess({pattern(), other});
      },
      "one size");
  CHECK(gemma::ImageProcessor(no_resize).preprocess({pattern(), pattern()}).sizes() ==
        at::IntArrayRef{2, 3, 5, 7});
  const auto tiny = gemma::ImageProcessor::from_pretrained(gemma::test::tiny_model_dir());
  CHECK(tiny.config().size.height == 192);
  CHECK(tiny.config().resample == 2);
}

namespace {

// 20 frames of 64x48 at 10 fps (MJPG); frame i is flat with red = 12 i.
fs::path write_test_video(const fs::path& dir, int frames) {
  const auto path = dir / ("frames" + std::to_string(frames) + ".avi");
  cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0,
                         cv::Size(64, 48));
  REQUIRE(writer.isOpened());
  for (int i = 0; i < frames; ++i)
    writer.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar(128, 255 - 12 * i, 12 * i)));
  writer.release();
  return path;
}

// The frame index each frame's red level encodes (MJPG keeps a flat colour within 2 levels).
std::vector<int64_t> frame_ids(const std::vector<gemma::Image>& frames) {
  std::vector<int64_t> ids;
  for (const auto& frame : frames) {
    REQUIRE(frame.width == 64);
    REQUIRE(frame.height == 48);
    ids.push_back((pixel(frame, 32, 24)[0] + 6) / 12);
  }
  return ids;
}

}  // namespace

TEST_CASE("video frame indices follow transformers' default_sample_indices_fn", "[unit][video]") {
  using gemma::media::video_frame_indices;
  using V = std::vector<int64_t>;
  CHECK(video_frame_indices(20, 10, {1.0, 32}) == V{0, 10});
  CHECK(video_frame_indices(20, 10, {4.0, 32}) == V{0, 2, 5, 7, 10, 12, 15, 17});
  CHECK(video_frame_indices(20, 10, {10.0, 3}) == V{0, 6, 13});
  CHECK(video_frame_indices(5, 30, {1.0, 32}) == V{0});             // shorter than 1/fps: one frame
  CHECK(video_frame_indices(4, 10, {100.0, 32}) == V{0, 1, 2, 3});  // never more than exist
  CHECK(video_frame_indices(10, 0, {1.0, 4}) == V{0, 2, 5, 7});     // unknown rate: max_frames
  CHECK(video_frame_indices(0, 10, {1.0, 4}).empty());
}

TEST_CASE("load_video_frames samples a real video", "[unit][video]") {
  const auto dir = gemma::test::scratch_dir("image_input_video");
  const auto path = write_test_video(dir, 20).string();
  using V = std::vector<int64_t>;
  CHECK(frame_ids(gemma::load_video_frames(path)) == V{0, 10});
  CHECK(frame_ids(gemma::load_video_frames(path, {4.0, 32})) == V{0, 2, 5, 7, 10, 12, 15, 17});
  CHECK(frame_ids(gemma::load_video_frames(path, {10.0, 3})) == V{0, 6, 13});
  CHECK(frame_ids(gemma::load_video_frames(path, {100.0, 32})).size() == 20);
  const auto uri = "data:video/x-msvideo;base64," + base64(gemma::util::read_file(path));
  CHECK(frame_ids(gemma::load_video_frames(uri, {4.0, 32})) == V{0, 2, 5, 7, 10, 12, 15, 17});
  CHECK(frame_ids(gemma::load_video_frames("file://" + path)) == V{0, 10});
}

TEST_CASE("bad video input throws gemma errors naming the input", "[unit][video]") {
  const auto dir = gemma::test::scratch_dir("image_input_bad_video");
  const auto empty = write_test_video(dir, 0).string();
  require_throws<gemma::ProcessorError>([&] { gemma::load_video_frames(empty); }, empty);
  const auto text = (dir / "not_a_video.mp4").string();
  std::ofstream(text) << "not a video\n";
  require_throws<gemma::ProcessorError>([&] { gemma::load_video_frames(text); }, text);
  // FFmpeg would open a still image (image2 demuxer) as a one-frame video.
  const auto still = (gemma::test::data_dir() / "images" / "palette_200x120.png").string();
  require_throws<gemma::ProcessorError>([&] { gemma::load_video_frames(still); },
                                        "an image, not a video");
  require_throws<gemma::IoError>([&] { gemma::load_video_frames((dir / "missing.mp4").string()); },
                                 "missing.mp4");
  require_throws<gemma::IoError>([] { gemma::load_video_frames("http://127.0.0.1:9/v.mp4"); },
                                 "127.0.0.1:9/v.mp4");
  require_throws<gemma::InvalidArgumentError>(
      [&] {
        gemma::load_video_frames(empty, {0.0, 4});
      },
      "fps");
  require_throws<gemma::InvalidArgumentError>(
      [&] {
        gemma::load_video_frames(empty, {1.0, 0});
      },
      "max_frames");
}

TEST_CASE("media limits stop oversized images, frames and requests before decoding",
          "[unit][image][video]") {
  const auto png = (gemma::test::data_dir() / "images" / "rgb_landscape_256x160.png").string();
  gemma::MediaLimits small;
  small.max_image_pixels = 256 * 160 - 1;
  require_throws<gemma::ProcessorError>([&] { gemma::load_image(png, small); },
                                        "256x160 pixels, more than the 40959 pixels");
  small = {};
  small.max_bytes = 100;
  require_throws<gemma::IoError>([&] { gemma::load_image(png, small); }, "limit");

  // A request decodes at most max_request_pixels over all its images and frames; the one that
  // would pass the budget is named, and refused from its header.
  static const auto processor = gemma::Processor::from_pretrained(gemma::test::tiny_model_dir());
  const auto palette = (gemma::test::data_dir() / "images" / "palette_200x120.png").string();
  const gemma::Conversation two_images = {gemma::chat::user(
      {gemma::chat::image(png), gemma::chat::image(palette), gemma::chat::text("Hi")})};
  gemma::ChatTemplateOptions options;
  options.media.max_request_pixels = 256 * 160 + 200 * 120;
  const auto fits = processor.apply_chat_template(two_images, options);
  CHECK(at::equal(fits.pixel_values, processor.apply_chat_template(two_images).pixel_values));
  options.media.max_request_pixels = 256 * 160 + 200 * 120 - 1;
  require_throws<gemma::ProcessorError>(
      [&] { processor.apply_chat_template(two_images, options); },
      palette +
          ": decoding its 200x120 pixels would pass the 64959 pixels one request may "
          "decode (MediaLimits::max_request_pixels)");

  const auto dir = gemma::test::scratch_dir("image_input_video_limits");
  const auto video = write_test_video(dir, 20).string();
  const gemma::Conversation clip = {
      gemma::chat::user({gemma::chat::video(video), gemma::chat::text("Hi")})};
  const auto frames = gemma::load_video_frames(video);
  REQUIRE(frames.size() == 2);
  options.media.max_request_pixels = frames[0].width * frames[0].height * 2 - 1;
  require_throws<gemma::ProcessorError>([&] { processor.apply_chat_template(clip, options); },
                                        video + ": decoding its");
  options.media = {};
  options.media.max_image_pixels = frames[0].width * frames[0].height - 1;
  require_throws<gemma::ProcessorError>([&] { processor.apply_chat_template(clip, options); },
                                        "the video frame is");
  options.media = {};
  options.media.video_timeout_seconds = 0;
  require_throws<gemma::ProcessorError>([&] { processor.apply_chat_template(clip, options); },
                                        "MediaLimits::video_timeout_seconds");
  // Every frame is reduced to the processor's size as it comes: the same pixel_values as decoding
  // them all first.
  options.media = {};
  CHECK(at::equal(processor.apply_chat_template(clip, options).pixel_values,
                  processor.image_processor().preprocess(frames)));
}
