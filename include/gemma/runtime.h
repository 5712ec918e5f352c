#pragma once
/// \file
/// Process-wide settings a program embedding gemma may choose to apply.

#include "gemma/export.h"

namespace gemma {

/// Makes glibc's malloc keep large freed blocks for reuse instead of handing each back to the
/// kernel (mallopt: M_MMAP_THRESHOLD at its documented maximum of 32 MiB, M_TRIM_THRESHOLD at
/// INT_MAX). LibTorch allocates every CPU activation with malloc; above glibc's adaptive threshold
/// each one is a fresh mmap whose pages fault in zeroed, one by one, and are unmapped again when
/// freed: 12% of the E2B vision tower's time on the CPU. With this the memory of the largest step
/// stays with the process. It affects every allocation of the process, so the library never
/// calls it by itself: the `gemma` CLI and the benchmarks do. Without glibc it does nothing.
GEMMA_API void reuse_freed_memory();

}  // namespace gemma
