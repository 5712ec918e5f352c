// Prints what a Gemma 3n model directory holds, without loading its weights:
//   gemma_example_model_info models/tiny-gemma3n
#include <iostream>

#include <gemma/error.h>
#include <gemma/model_info.h>

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : "models/tiny-gemma3n";
  try {
    std::cout << gemma::describe(gemma::inspect_model(dir));
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
