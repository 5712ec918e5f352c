# Warnings and sanitizers, applied per target so that a parent project's flags are never touched.
function(gemma_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
  endif()
  if(GEMMA_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${GEMMA_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${GEMMA_SANITIZE})
  elseif(GEMMA_FUZZ)
    # Coverage feedback for libFuzzer in every gemma object, without libFuzzer's main: the unit
    # tests link the same objects and keep their own main. tests/fuzz links -fsanitize=fuzzer.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                             -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  # clang 14's -fsanitize=function (part of "undefined") cannot assemble C++20 coroutines ("Cannot
  # represent a difference across sections"): the server's HTTP layer uses them.
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND (GEMMA_FUZZ OR GEMMA_SANITIZE MATCHES "undefined"))
    target_compile_options(${target} PRIVATE -fno-sanitize=function)
  endif()
endfunction()
