#pragma once
// Symbols of the public API; everything else in libgemma is hidden (-fvisibility=hidden), so that
// internals never clash with a host application's symbols.
#if defined(_WIN32)
#define GEMMA_API
#else
#define GEMMA_API __attribute__((visibility("default")))
#endif
