#pragma once
// Checkpoint I/O moved to io/checkpoint.h (namespace voxgrad::io, with voxgrad::save, voxgrad::load,
// ... still declared); this header keeps `#include <voxgrad/nn/checkpoint.h>` compiling.

#include "voxgrad/io/checkpoint.h"
