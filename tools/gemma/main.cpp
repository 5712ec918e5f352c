// The `gemma` command-line tool. Every failure is one line on stderr, "gemma: [gemma.<category>]
// ...", and exit status 1 (3 only for a bug: an exception that is no gemma::Error); nothing here
// aborts on bad input.
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "gemma/error.h"
#include "gemma/runtime.h"

namespace {

// Messages may quote the offending input; one line keeps stderr parseable.
std::string one_line(std::string text) {
  for (auto& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  gemma::reuse_freed_memory();
  CLI::App app{"gemma: run Gemma 3n models with LibTorch"};
  app.require_subcommand(1);
  std::vector<gemma::cli::Action> actions = {gemma::cli::add_info_command(app),
                                            gemma::cli::add_template_command(app),
                                            gemma::cli::add_tokenize_command(app),
                                            gemma::cli::add_run_command(app),
                                            gemma::cli::add_serve_command(app),
                                            gemma::cli::add_train_command(app, argc, argv),
                                            gemma::cli::add_merge_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "gemma: [gemma.invalid_argument] " << one_line(e.what())
              << " (see gemma --help)\n";
    return 1;
  }
  try {
    for (const auto& action : actions) {
      if (int rc = action(); rc >= 0) return rc;
    }
  } catch (const gemma::Error& e) {
    std::cerr << "gemma: " << one_line(e.what()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "gemma: [gemma.internal] " << one_line(e.what()) << "\n";
    return 3;
  }
  return 0;
}
