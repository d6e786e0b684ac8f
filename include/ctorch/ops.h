// Every op as a plain C++ function; one header per op family under ops/.
#pragma once
#include "ctorch/ops/conv.h"
#include "ctorch/ops/elementwise.h"
#include "ctorch/ops/index.h"
#include "ctorch/ops/linalg.h"
#include "ctorch/ops/nn.h"
#include "ctorch/ops/optim.h"
#include "ctorch/ops/pool.h"
#include "ctorch/ops/random.h"
#include "ctorch/ops/reduce.h"
#include "ctorch/ops/rnn.h"
#include "ctorch/ops/tensor_ops.h"
