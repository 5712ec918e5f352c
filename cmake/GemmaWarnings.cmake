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
  endif()
endfunction()
