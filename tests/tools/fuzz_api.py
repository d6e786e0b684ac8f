"""Calls every public ctorch function and Tensor method with random arguments: each call must
return or raise a Python exception, never crash the interpreter. Usage: fuzz_api.py SEED [CALLS]."""
import random
import sys

import ctorch

random.seed(int(sys.argv[1]))
calls = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
dts = [ctorch.bool, ctorch.uint8, ctorch.int8, ctorch.int32, ctorch.int64, ctorch.float16, ctorch.bfloat16, ctorch.float32, ctorch.float64]
def rt():
    nd = random.choice([0,0,1,1,2,3])
    shape = [random.choice([0,1,2,3,5]) for _ in range(nd)]
    t = (ctorch.rand(*shape) * 10 - 5).to(random.choice(dts)) if shape else ctorch.tensor(random.random()*10-5).to(random.choice(dts))
    if t.is_floating_point() and random.random() < 0.3: t.requires_grad_()  # ops record a graph
    if nd >= 2 and random.random() < 0.3: t = t.transpose(0, 1)
    return t
def rarg():
    r = random.random()
    if r < 0.45: return rt()
    if r < 0.65: return random.choice([0, 1, -1, 2, -3, 7, 2**40, -2**62])
    if r < 0.75: return random.choice([0.5, -1.5, float('nan'), float('inf')])
    if r < 0.85: return random.choice([(0,), (1, 0), [2, 2], (), (-1,)])
    if r < 0.9: return None
    return random.choice([True, False, "sum", "mean", "ij"])
names = [n for n in dir(ctorch) if not n.startswith('_') and callable(getattr(ctorch, n))]
skip = {"set_num_threads", "manual_seed", "set_default_dtype", "set_rng_state", "seed", "set_printoptions", "Tensor", "Size", "device", "dtype", "Generator", "empty_like", "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "randint_like", "tril_indices", "triu_indices", "printoptions",
        "set_grad_enabled", "no_grad", "enable_grad", "inference_mode", "save"}
names = [n for n in names if n not in skip]
meths = [n for n in dir(ctorch.Tensor) if not n.startswith('_') and n not in ("resize_", "set_", "random_", "geometric_", "exponential_", "cauchy_", "log_normal_", "normal_", "uniform_", "bernoulli_", "new_empty", "new_zeros", "new_ones", "new_full", "new_tensor")]
for i in range(calls):
    if random.random() < 0.5:
        n = random.choice(names); f = getattr(ctorch, n)
    else:
        n = random.choice(meths); t = rt()
        try: f = getattr(t, n, None)
        except Exception: continue
        if not callable(f): continue
    args = [rarg() for _ in range(random.choice([0,1,1,2,2,3]))]
    print(n, [type(a).__name__ for a in args], file=sys.stderr, flush=True)
    try:
        r = f(*args)
        # Differentiate whatever recorded a graph: every backward formula meets random inputs.
        for out in (r if isinstance(r, (tuple, list)) else [r]):
            if isinstance(out, ctorch.Tensor) and out.requires_grad:
                print("  backward", n, file=sys.stderr, flush=True)
                out.sum().backward()
    except (RuntimeError, IndexError, ValueError, TypeError, NotImplementedError, BufferError, OverflowError, AttributeError,
            OSError):  # ctorch.load("sum"): no such file
        pass
    except AssertionError as e:  # PyTorch's error for a CUDA device in a build without CUDA, and only that
        if "not compiled with CUDA" not in str(e):
            raise
    except MemoryError:
        pass
print("done")
