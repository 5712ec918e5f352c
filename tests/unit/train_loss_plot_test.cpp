#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "gemma/error.h"
#include "support/paths.h"
#include "train/loss_plot.h"

using gemma::train::write_loss_plot;

namespace {

using Series = std::vector<std::pair<int64_t, double>>;

// loss_plot.cpp's colours (matplotlib's tab:blue and tab:orange), BGR.
const cv::Vec3b kTrain(180, 119, 31);
const cv::Vec3b kEval(14, 127, 255);

int count_pixels(const cv::Mat& image, cv::Vec3b colour) {
  int count = 0;
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) count += image.at<cv::Vec3b>(y, x) == colour;
  }
  return count;
}

cv::Mat plot(const std::string& name, const Series& train, const Series& eval) {
  const auto png = gemma::test::scratch_dir(name) / "loss.png";
  write_loss_plot(png, train, eval);
  cv::Mat image = cv::imread(png.string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(image.empty());
  CHECK(image.cols == 800);
  CHECK(image.rows == 500);
  return image;
}

}  // namespace

TEST_CASE("the loss plot draws train and eval curves", "[train][loss_plot]") {
  Series train;
  for (int64_t step = 1; step <= 100; ++step) train.emplace_back(step, 3.0 / std::sqrt(step));
  const Series eval = {{25, 1.0}, {50, 0.8}, {75, 0.7}, {100, 0.65}};
  const cv::Mat image = plot("train_loss_plot", train, eval);
  CHECK(count_pixels(image, kTrain) > 200);
  CHECK(count_pixels(image, kEval) > 50);
  // Mostly white background.
  CHECK(count_pixels(image, cv::Vec3b(255, 255, 255)) > 800 * 500 / 2);
}

TEST_CASE("the loss plot survives empty, single and non-finite input", "[train][loss_plot]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  SECTION("no points") {
    const cv::Mat image = plot("train_loss_plot_empty", {}, {});
    CHECK(count_pixels(image, kEval) == 0);
  }
  SECTION("one point") {
    const cv::Mat image = plot("train_loss_plot_one", {{5, 2.0}}, {});
    CHECK(count_pixels(image, kTrain) > 10);
  }
  SECTION("only NaN and infinities") {
    const cv::Mat image = plot("train_loss_plot_nan", {{1, nan}, {2, inf}}, {{2, -inf}});
    CHECK(count_pixels(image, kEval) == 0);
  }
  SECTION("extreme and nearly equal losses") {
    plot("train_loss_plot_extreme", {{1, -1e308}, {2, 1e308}}, {});
    plot("train_loss_plot_narrow", {{1, 1e20}, {2, 1e20 + 16384}}, {{3, 1e20}});
  }
  SECTION("a NaN between finite points") {
    const cv::Mat image =
        plot("train_loss_plot_gap", {{1, 3.0}, {2, nan}, {3, 2.0}, {4, 1.5}}, {{4, nan}});
    CHECK(count_pixels(image, kTrain) > 10);
  }
}

TEST_CASE("the loss plot names a file it cannot write", "[train][loss_plot]") {
  const auto dir = gemma::test::scratch_dir("train_loss_plot_bad");
  CHECK_THROWS_AS(write_loss_plot(dir / "missing" / "loss.png", {{1, 1.0}}, {}), gemma::IoError);
}
