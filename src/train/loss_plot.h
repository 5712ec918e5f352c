#pragma once
// A PNG of the loss curves, written next to the checkpoints so that a run can be judged without
// TensorBoard.
#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

namespace gemma::train {

/// Writes an 800×500 PNG titled "loss": the training loss per step, and the evaluation loss (if
/// any) in another colour with markers, with axes, tick labels and a legend. Points whose loss is
/// NaN or infinite are left out (the curve breaks there); no points at all still give a valid,
/// empty plot. Replaces `png` atomically; IoError naming it on failure.
void write_loss_plot(const std::filesystem::path& png,
                     const std::vector<std::pair<int64_t, double>>& train,
                     const std::vector<std::pair<int64_t, double>>& eval);

}  // namespace gemma::train
