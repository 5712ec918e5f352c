# Every dependency comes from Debian packages or the PyPI torch wheel; nothing is downloaded here.
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SentencePiece REQUIRED IMPORTED_TARGET sentencepiece)
find_package(CURL REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(SndFile REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(Soxr REQUIRED IMPORTED_TARGET soxr)
find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs videoio)
# The codecs under OpenCV, whose messages gemma captures (src/media/quiet_codecs.h).
pkg_check_modules(PNG REQUIRED IMPORTED_TARGET libpng)
pkg_check_modules(AVUtil REQUIRED IMPORTED_TARGET libavutil)
find_package(JPEG REQUIRED)
# The server (src/server): Boost.Beast/Asio (header-only) for HTTP, OpenSSL's libcrypto for HMAC and
# constant-time comparison.
find_package(Boost 1.81 REQUIRED CONFIG)
find_package(OpenSSL REQUIRED)

if(GEMMA_WITH_TORCH)
  include(GemmaTorch)
  if(GEMMA_BUILD_TOOLS)
    find_package(CLI11 REQUIRED)
  endif()
endif()
if(GEMMA_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
  include(Catch)
endif()

find_program(GEMMA_CCACHE ccache)
if(GEMMA_CCACHE AND GEMMA_MASTER_PROJECT AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${GEMMA_CCACHE})
endif()
