// random ops (filled in by its op family)
#pragma once
#include "ctorch/core/tensor.h"
