// A downstream program: uses only the installed public headers and gemma::gemma.
#include <iostream>

#include <gemma/error.h>
#include <gemma/model_info.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer MODEL_DIR\n";
    return 2;
  }
  try {
    auto info = gemma::inspect_model(argv[1]);
    std::cout << gemma::describe(info);
    return info.total_parameters > 0 ? 0 : 1;
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
