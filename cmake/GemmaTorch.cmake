# Locates LibTorch: an existing `torch` target, then Torch_DIR / CMAKE_PREFIX_PATH, then the torch
# wheel of the bootstrap virtualenv ($GEMMA_VENV) or of the active python. find_package(Torch) must
# run at most once per build (pytorch#25004), hence the target guard.
if(TARGET torch)
  return()
endif()

get_directory_property(_gemma_imported_before IMPORTED_TARGETS)
find_package(Torch QUIET)
if(NOT Torch_FOUND)
  set(_gemma_pythons)
  if(DEFINED ENV{GEMMA_VENV})
    list(APPEND _gemma_pythons "$ENV{GEMMA_VENV}/bin/python")
  endif()
  if(DEFINED ENV{XDG_CACHE_HOME})
    list(APPEND _gemma_pythons "$ENV{XDG_CACHE_HOME}/gemma/venv/bin/python")
  endif()
  list(APPEND _gemma_pythons "$ENV{HOME}/.cache/gemma/venv/bin/python" python3)
  foreach(_py IN LISTS _gemma_pythons)
    # find_spec locates the wheel without importing torch (an import takes seconds).
    execute_process(
      COMMAND ${_py} -c "import importlib.util,os;s=importlib.util.find_spec('torch');print(os.path.join(os.path.dirname(s.origin),'share','cmake'))"
      OUTPUT_VARIABLE _torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
    if(_rc EQUAL 0 AND EXISTS "${_torch_prefix}/Torch/TorchConfig.cmake")
      set(Torch_DIR "${_torch_prefix}/Torch" CACHE PATH "LibTorch CMake config directory" FORCE)
      break()
    endif()
  endforeach()
  if(Torch_DIR AND EXISTS "${Torch_DIR}/TorchConfig.cmake")
    # The CUDA wheel's config needs a CUDA toolkit even to link CPU code; /usr/local/cuda is Debian's place.
    if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
      set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
    endif()
    find_program(GEMMA_NVCC nvcc)
    if(GEMMA_NVCC)  # a wrapper left behind by an uninstalled toolkit does not count
      execute_process(COMMAND ${GEMMA_NVCC} --version RESULT_VARIABLE _nvcc_rc OUTPUT_QUIET ERROR_QUIET)
      if(NOT _nvcc_rc EQUAL 0)
        set(GEMMA_NVCC "")
      endif()
    endif()
    if(CMAKE_CUDA_COMPILER OR DEFINED ENV{CUDACXX} OR GEMMA_NVCC)
      find_package(Torch QUIET)
    else()
      # No CUDA toolkit (a CPU-only machine): TorchConfig would stop ("Your installed Caffe2 version
      # uses CUDA but I cannot find the CUDA libraries"). The wheel's own target file serves
      # instead: its libraries find their CUDA dependencies through their own RPATH (the nvidia
      # wheels installed beside torch), so the result runs on the CPU, and on a GPU if one is
      # there. The targets it references from the toolkit and from protobuf/MKL lookups are
      # empty here, as they are for code that only links LibTorch.
      foreach(_target torch::cudart protobuf::libprotobuf caffe2::mkl)
        if(NOT TARGET ${_target})
          add_library(${_target} INTERFACE IMPORTED)
        endif()
      endforeach()
      get_filename_component(_torch_root "${Torch_DIR}/../../.." ABSOLUTE)
      include("${Torch_DIR}/../Caffe2/Caffe2Targets.cmake")
      set_target_properties(torch PROPERTIES INTERFACE_INCLUDE_DIRECTORIES
        "${_torch_root}/include;${_torch_root}/include/torch/csrc/api/include")
      set(Torch_FOUND TRUE)
      file(STRINGS "${Torch_DIR}/TorchConfigVersion.cmake" _torch_version_line
           REGEX "set\\(PACKAGE_VERSION ")
      string(REGEX REPLACE ".*PACKAGE_VERSION \"([^\"]*)\".*" "\\1" Torch_VERSION "${_torch_version_line}")
      message(STATUS "gemma: no CUDA toolkit; LibTorch's targets come from the wheel directly")
    endif()
  endif()
endif()

if(NOT Torch_FOUND)
  message(FATAL_ERROR
    "gemma: LibTorch not found. Run scripts/bootstrap.sh (installs the torch==2.11.0 wheel into "
    "~/.cache/gemma/venv), or `pip install torch==2.11.0` and pass "
    "-DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)'). "
    "The CUDA wheel also needs a CUDA 13.0 toolkit (nvcc) to configure; no GPU is needed.")
endif()
# Imported targets are directory-scoped: when gemma is vendored with add_subdirectory(), the parent
# links gemma::gemma and so needs torch's targets too. Promote the ones this lookup created.
get_directory_property(_gemma_imported_after IMPORTED_TARGETS)
list(REMOVE_ITEM _gemma_imported_after ${_gemma_imported_before})
foreach(_target IN LISTS _gemma_imported_after)
  set_target_properties(${_target} PROPERTIES IMPORTED_GLOBAL TRUE)
endforeach()
message(STATUS "gemma: LibTorch ${Torch_VERSION} from ${Torch_DIR}")
