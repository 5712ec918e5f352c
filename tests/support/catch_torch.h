#pragma once
// Include first in tests that use LibTorch: c10's logging defines a glog-style CHECK that aborts,
// which would silently replace Catch's CHECK. Torch goes first, its CHECK is dropped, then Catch.
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#undef CHECK
#include <catch2/catch.hpp>
