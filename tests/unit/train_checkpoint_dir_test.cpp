#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gemma/error.h"
#include "support/paths.h"
#include "train/checkpoint_dir.h"
#include "util/files.h"

namespace fs = std::filesystem;
using gemma::train::list_checkpoints;
using gemma::train::remove_stale_temporaries;
using gemma::train::rotate_checkpoints;
using gemma::train::write_directory_atomically;

namespace {

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> filenames(const std::vector<fs::path>& paths) {
  std::vector<std::string> names;
  for (const auto& path : paths) names.push_back(path.filename());
  return names;
}

// output_dir with checkpoint-1 ... checkpoint-5.
fs::path five_checkpoints(const std::string& name) {
  const auto dir = gemma::test::scratch_dir(name);
  for (int step = 1; step <= 5; ++step) {
    fs::create_directory(dir / ("checkpoint-" + std::to_string(step)));
    write_text(dir / ("checkpoint-" + std::to_string(step)) / "trainer_state.json", "{}");
  }
  return dir;
}

}  // namespace

TEST_CASE("write_directory_atomically creates and replaces a directory", "[train][checkpoint]") {
  const auto out = gemma::test::scratch_dir("train_ckpt_write") / "output";
  const auto final_dir = out / "checkpoint-10";
  write_directory_atomically(final_dir, [](const fs::path& tmp) {
    write_text(tmp / "a.txt", "first");
    fs::create_directory(tmp / "sub");
    write_text(tmp / "sub" / "b.txt", "nested");
  });
  CHECK(gemma::util::read_file(final_dir / "a.txt") == "first");
  CHECK(gemma::util::read_file(final_dir / "sub" / "b.txt") == "nested");

  write_directory_atomically(final_dir, [](const fs::path& tmp) {
    CHECK(tmp.filename() == "checkpoint-10.tmp-" + std::to_string(::getpid()));
    CHECK(fs::is_empty(tmp));
    write_text(tmp / "c.txt", "second");
  });
  CHECK(names_in(final_dir) == std::vector<std::string>{"c.txt"});
  CHECK(names_in(out) == std::vector<std::string>{"checkpoint-10"});

  write_directory_atomically(out / "checkpoint-10" / "",
                             [](const fs::path& tmp) { write_text(tmp / "d.txt", "third"); });
  CHECK(names_in(final_dir) == std::vector<std::string>{"d.txt"});
  CHECK(names_in(out) == std::vector<std::string>{"checkpoint-10"});
}

TEST_CASE("a throwing fill leaves the previous directory and no temporary", "[train][checkpoint]") {
  const auto out = gemma::test::scratch_dir("train_ckpt_throw");
  write_directory_atomically(out / "checkpoint-1",
                             [](const fs::path& tmp) { write_text(tmp / "a.txt", "old"); });
  CHECK_THROWS_AS(write_directory_atomically(out / "checkpoint-1",
                                             [](const fs::path& tmp) {
                                               write_text(tmp / "a.txt", "half");
                                               throw std::runtime_error("disk full");
                                             }),
                  std::runtime_error);
  CHECK(gemma::util::read_file(out / "checkpoint-1" / "a.txt") == "old");
  CHECK(names_in(out) == std::vector<std::string>{"checkpoint-1"});
}

TEST_CASE("a write killed inside fill leaves the previous checkpoint", "[train][checkpoint]") {
  const auto out = gemma::test::scratch_dir("train_ckpt_kill");
  write_directory_atomically(out / "checkpoint-5", [](const fs::path& tmp) {
    write_text(tmp / "model.safetensors", "old weights");
    write_text(tmp / "trainer_state.json", "old state");
  });
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child must never return into Catch: it dies by SIGKILL or exits.
    try {
      write_directory_atomically(out / "checkpoint-5", [](const fs::path& tmp) {
        write_text(tmp / "model.safetensors", "new weights");
        ::kill(::getpid(), SIGKILL);
      });
    } catch (...) {
    }
    ::_exit(1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  const std::string leftover = "checkpoint-5.tmp-" + std::to_string(child);
  CHECK(names_in(out) == std::vector<std::string>{"checkpoint-5", leftover});
  CHECK(gemma::util::read_file(out / "checkpoint-5" / "model.safetensors") == "old weights");
  CHECK(gemma::util::read_file(out / "checkpoint-5" / "trainer_state.json") == "old state");
  CHECK(filenames(list_checkpoints(out)) == std::vector<std::string>{"checkpoint-5"});

  remove_stale_temporaries(out);
  CHECK(names_in(out) == std::vector<std::string>{"checkpoint-5"});
}

TEST_CASE("remove_stale_temporaries restores a checkpoint killed between the renames",
          "[train][checkpoint]") {
  const auto out = gemma::test::scratch_dir("train_ckpt_stale");
  // checkpoint-3 was renamed away and the new one not yet renamed in; checkpoint-4 was replaced
  // but its old copy not yet removed.
  fs::create_directories(out / "checkpoint-3.old-77");
  write_text(out / "checkpoint-3.old-77" / "state", "previous 3");
  fs::create_directories(out / "checkpoint-3.tmp-77");
  fs::create_directories(out / "checkpoint-4");
  write_text(out / "checkpoint-4" / "state", "new 4");
  fs::create_directories(out / "checkpoint-4.old-78");
  // Not leftovers of ours: left alone.
  fs::create_directories(out / "checkpoint-4.tmp-x");
  fs::create_directories(out / "other.tmp-5");
  remove_stale_temporaries(out);
  CHECK(names_in(out) == std::vector<std::string>{"checkpoint-3", "checkpoint-4",
                                                  "checkpoint-4.tmp-x", "other.tmp-5"});
  CHECK(gemma::util::read_file(out / "checkpoint-3" / "state") == "previous 3");
  CHECK(gemma::util::read_file(out / "checkpoint-4" / "state") == "new 4");
  remove_stale_temporaries(out / "missing");
}

TEST_CASE("list_checkpoints sorts checkpoint-<n> directories by step", "[train][checkpoint]") {
  const auto out = gemma::test::scratch_dir("train_ckpt_list");
  for (const char* name : {"checkpoint-10", "checkpoint-9", "checkpoint-100", "checkpoint-5.tmp-12",
                           "checkpoint-7.old-3", "checkpoint-x", "checkpoint-", "checkpoint--1",
                           "runs", "checkpoint-99999999999999999999"}) {
    fs::create_directory(out / name);
  }
  write_text(out / "checkpoint-200", "a file, not a checkpoint");
  CHECK(filenames(list_checkpoints(out)) ==
        std::vector<std::string>{"checkpoint-9", "checkpoint-10", "checkpoint-100"});
  CHECK(gemma::train::latest_checkpoint(out) == out / "checkpoint-100");
  CHECK(list_checkpoints(out / "missing").empty());
  CHECK_FALSE(gemma::train::latest_checkpoint(out / "missing"));
}

TEST_CASE("rotate_checkpoints keeps what transformers keeps", "[train][checkpoint]") {
  // transformers 5.23 trainer_utils.rotate_checkpoints on checkpoint-1..5 with these limits and
  // best checkpoints; the steps left.
  struct Case {
    int64_t limit;
    int best;  // 0: none
    std::vector<std::string> kept;
  };
  const std::vector<Case> cases = {
      {2, 0, {"checkpoint-4", "checkpoint-5"}},
      {2, 2, {"checkpoint-2", "checkpoint-5"}},
      {1, 2, {"checkpoint-2", "checkpoint-5"}},
      {1, 5, {"checkpoint-5"}},
      {0, 0, {"checkpoint-1", "checkpoint-2", "checkpoint-3", "checkpoint-4", "checkpoint-5"}},
      {-1, 3, {"checkpoint-1", "checkpoint-2", "checkpoint-3", "checkpoint-4", "checkpoint-5"}},
      {3, 1, {"checkpoint-1", "checkpoint-4", "checkpoint-5"}},
      {3, 3, {"checkpoint-3", "checkpoint-4", "checkpoint-5"}},
      {1, 99, {"checkpoint-4", "checkpoint-5"}},
      {10, 0, {"checkpoint-1", "checkpoint-2", "checkpoint-3", "checkpoint-4", "checkpoint-5"}},
  };
  for (const auto& c : cases) {
    INFO("limit " << c.limit << " best " << c.best);
    const auto out = five_checkpoints("train_ckpt_rotate");
    std::optional<fs::path> best;
    if (c.best) best = out / ("checkpoint-" + std::to_string(c.best));
    rotate_checkpoints(out, c.limit, best);
    CHECK(filenames(list_checkpoints(out)) == c.kept);
  }
}

TEST_CASE("rotate_checkpoints recognises the best checkpoint however it is spelled",
          "[train][checkpoint]") {
  const auto out = five_checkpoints("train_ckpt_rotate_spelling");
  rotate_checkpoints(out, 1, out / "." / "checkpoint-2");
  CHECK(filenames(list_checkpoints(out)) ==
        std::vector<std::string>{"checkpoint-2", "checkpoint-5"});
}
