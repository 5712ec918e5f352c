// The `gemma` command-line tool. Errors go to stderr as one line and exit non-zero; nothing here
// aborts on bad input.
#include <iostream>
#include <vector>

#include "commands.h"
#include "gemma/error.h"

int main(int argc, char** argv) {
  CLI::App app{"gemma: run Gemma 3n models with LibTorch"};
  app.require_subcommand(1);
  std::vector<gemma::cli::Action> actions = {gemma::cli::add_info_command(app),
                                            gemma::cli::add_template_command(app),
                                            gemma::cli::add_tokenize_command(app),
                                            gemma::cli::add_run_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& action : actions) {
      if (int rc = action(); rc >= 0) return rc;
    }
  } catch (const gemma::Error& e) {
    std::cerr << "gemma: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "gemma: internal error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
