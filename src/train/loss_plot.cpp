#include "train/loss_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "gemma/error.h"
#include "util/files.h"

namespace gemma::train {

namespace {

using Series = std::vector<std::pair<int64_t, double>>;

constexpr int kWidth = 800;
constexpr int kHeight = 500;
// The plot area inside the margins, which hold the title, tick labels and axis label.
constexpr int kLeft = 80, kRight = 20, kTop = 45, kBottom = 55;
constexpr int kTicks = 5;
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// matplotlib's first two colours (tab:blue, tab:orange), in OpenCV's BGR order.
const cv::Scalar kTrainColour(180, 119, 31);
const cv::Scalar kEvalColour(14, 127, 255);
const cv::Scalar kInk(40, 40, 40);
const cv::Scalar kGrid(225, 225, 225);

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();

  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // An empty or single-valued range still needs a width to map onto pixels; matplotlib's 5%
  // margins keep the extreme points off the frame.
  void widen() {
    if (lo > hi) {
      lo = 0;
      hi = 1;
    } else if (lo == hi) {
      const double pad = std::max(std::abs(lo) * 0.05, 0.5);
      lo -= pad;
      hi += pad;
    }
    const double margin = 0.05 * (hi - lo);
    lo -= margin;
    hi += margin;
  }
  // Losses near the limits of double overflow the span; such a plot is useless but must not
  // crash.
  double fraction(double v) const {
    const double f = (v - lo) / (hi - lo);
    return std::isfinite(f) ? std::clamp(f, 0.0, 1.0) : 0.5;
  }
};

// Values 1, 2 or 5 times a power of ten apart (at least `min_spacing`), about kTicks of them
// inside the range.
std::vector<double> nice_ticks(const Range& range, double min_spacing) {
  const double raw = (range.hi - range.lo) / (kTicks - 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double spacing = 10 * magnitude;
  for (const double multiple : {1.0, 2.0, 5.0}) {
    if (multiple * magnitude >= raw) {
      spacing = multiple * magnitude;
      break;
    }
  }
  spacing = std::max(spacing, min_spacing);
  std::vector<double> ticks;
  if (!std::isfinite(spacing)) return ticks;
  const double first = std::ceil(range.lo / spacing);
  // Bounded: where first is beyond 2^53, adding 1 no longer changes it.
  for (int k = 0; k <= 2 * kTicks; ++k) {
    const double index = first + k;
    if (index * spacing > range.hi) break;
    // index * spacing rather than a running sum, and no "-0" or "1e-17" for zero.
    ticks.push_back(index == 0 ? 0.0 : index * spacing);
  }
  return ticks;
}

struct Axes {
  Range steps;
  Range losses;

  int x(double step) const {
    return kLeft + static_cast<int>(std::lround(steps.fraction(step) * (kWidth - kLeft - kRight)));
  }
  int y(double loss) const {
    return kHeight - kBottom -
           static_cast<int>(std::lround(losses.fraction(loss) * (kHeight - kTop - kBottom)));
  }
  cv::Point pixel(int64_t step, double loss) const {
    return {x(static_cast<double>(step)), y(loss)};
  }
};

bool has_points(const Series& series) {
  return std::any_of(series.begin(), series.end(),
                     [](const auto& point) { return std::isfinite(point.second); });
}

Axes fit_axes(const Series& train, const Series& eval) {
  Axes axes;
  for (const Series* series : {&train, &eval}) {
    for (const auto& [step, loss] : *series) {
      if (!std::isfinite(loss)) continue;
      axes.steps.add(static_cast<double>(step));
      axes.losses.add(loss);
    }
  }
  axes.steps.widen();
  axes.losses.widen();
  return axes;
}

void put_text(cv::Mat& image, const std::string& text, cv::Point anchor, double scale,
              double align_x, double align_y) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, kFont, scale, 1, &baseline);
  const cv::Point origin(anchor.x - static_cast<int>(align_x * size.width),
                         anchor.y + static_cast<int>(align_y * size.height));
  cv::putText(image, text, origin, kFont, scale, kInk, 1, cv::LINE_AA);
}

void draw_frame(cv::Mat& image, const Axes& axes) {
  const int right = kWidth - kRight;
  const int bottom = kHeight - kBottom;
  for (const double step : nice_ticks(axes.steps, 1.0)) {
    const int x = axes.x(step);
    cv::line(image, {x, kTop}, {x, bottom}, kGrid, 1);
    put_text(image, fmt::format("{:.0f}", step), {x, bottom + 8}, 0.45, 0.5, 1.0);
  }
  for (const double loss : nice_ticks(axes.losses, 0.0)) {
    const int y = axes.y(loss);
    cv::line(image, {kLeft, y}, {right, y}, kGrid, 1);
    put_text(image, fmt::format("{:.6g}", loss), {kLeft - 8, y}, 0.45, 1.0, 0.5);
  }
  cv::rectangle(image, {kLeft, kTop}, {right, bottom}, kInk, 1);
  put_text(image, "loss", {kWidth / 2, kTop / 2}, 0.7, 0.5, 0.5);
  put_text(image, "step", {(kLeft + right) / 2, kHeight - 12}, 0.5, 0.5, 0.0);
}

// Consecutive finite points are joined; a NaN or infinite loss breaks the line, as in matplotlib.
// Without markers, a point joined to neither neighbour still gets one, or it would not show.
void draw_series(cv::Mat& image, const Axes& axes, const Series& series, const cv::Scalar& colour,
                 bool markers) {
  const auto finite = [&](size_t i) {
    return i < series.size() && std::isfinite(series[i].second);
  };
  for (size_t i = 0; i < series.size(); ++i) {
    if (!finite(i)) continue;
    const cv::Point point = axes.pixel(series[i].first, series[i].second);
    const bool joined_before = i > 0 && finite(i - 1);
    if (joined_before) {
      cv::line(image, axes.pixel(series[i - 1].first, series[i - 1].second), point, colour, 2,
               cv::LINE_AA);
    }
    if (markers || (!joined_before && !finite(i + 1))) {
      cv::circle(image, point, 4, colour, cv::FILLED, cv::LINE_AA);
    }
  }
}

void draw_legend(cv::Mat& image, bool with_eval) {
  const int x = kWidth - kRight - 110;
  int y = kTop + 18;
  for (const auto& [label, colour, shown] :
       {std::tuple{"train", kTrainColour, true}, std::tuple{"eval", kEvalColour, with_eval}}) {
    if (!shown) continue;
    cv::line(image, {x, y}, {x + 30, y}, colour, 2, cv::LINE_AA);
    put_text(image, label, {x + 40, y}, 0.5, 0.0, 0.5);
    y += 22;
  }
}

}  // namespace

void write_loss_plot(const std::filesystem::path& png, const Series& train, const Series& eval) {
  cv::Mat image(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  const Axes axes = fit_axes(train, eval);
  draw_frame(image, axes);
  draw_series(image, axes, train, kTrainColour, false);
  draw_series(image, axes, eval, kEvalColour, true);
  draw_legend(image, has_points(eval));
  std::vector<unsigned char> encoded;
  if (!cv::imencode(".png", image, encoded)) {
    throw IoError(fmt::format("{}: cannot encode the loss plot as PNG", png.string()));
  }
  util::write_file_atomically(
      png, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
}

}  // namespace gemma::train
