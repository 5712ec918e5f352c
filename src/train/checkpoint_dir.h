#pragma once
// Checkpoint directories as transformers' Trainer lays them out (output_dir/checkpoint-<step>),
// written so that a crash or kill -9 at any moment leaves every checkpoint either complete or
// recoverable, and rotated as Trainer's save_total_limit does.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

namespace gemma::train {

/// Runs `fill` on a fresh temporary sibling "<name>.tmp-<pid>" of `final_dir`, fsyncs every file
/// and directory in it, then puts it in place: an existing `final_dir` is first renamed to
/// "<name>.old-<pid>", the temporary renamed to `final_dir`, the parent fsynced and the old copy
/// removed. Between the two renames only the old copy holds the previous version;
/// remove_stale_temporaries() puts it back. If `fill` throws, the temporary is removed and the
/// exception propagates. Creates the parent; IoError naming the path on failure.
void write_directory_atomically(const std::filesystem::path& final_dir,
                                const std::function<void(const std::filesystem::path& tmp)>& fill);

/// The directories of `output_dir` named exactly checkpoint-<digits>, by step ascending (leftovers
/// of interrupted writes are not checkpoints). Empty if `output_dir` does not exist.
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& output_dir);

/// The checkpoint with the highest step (transformers' get_last_checkpoint), if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& output_dir);

/// Cleans what a killed write_directory_atomically() left in `output_dir`: removes every
/// checkpoint-<n>.tmp-<pid>, and every checkpoint-<n>.old-<pid> whose checkpoint-<n> exists; one
/// whose checkpoint-<n> is missing (killed between the renames) is renamed back to it. Call before
/// list_checkpoints() when resuming, with no other writer running.
void remove_stale_temporaries(const std::filesystem::path& output_dir);

/// Deletes the oldest checkpoints beyond `save_total_limit` (<= 0 keeps all), never the newest
/// nor `best_checkpoint`: transformers' rotate_checkpoints (trainer_utils.py), which keeps two
/// when the limit is 1 and the best is not the newest. Like transformers, a checkpoint that cannot
/// be deleted is left in place.
void rotate_checkpoints(const std::filesystem::path& output_dir, int64_t save_total_limit,
                        const std::optional<std::filesystem::path>& best_checkpoint);

}  // namespace gemma::train
