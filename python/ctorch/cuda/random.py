"""ctorch.cuda.random: seeding and state of each CUDA device's default generator (torch.cuda.random).

As in PyTorch, the calls that only set something (manual_seed, manual_seed_all, seed, seed_all,
set_rng_state, set_rng_state_all) do nothing without a GPU, while initial_seed and get_rng_state
raise; get_rng_state_all returns one state per device, so [] without a GPU. A state is a CPU uint8
tensor of 16 bytes (seed, then the Philox offset, little-endian), the same layout as the CPU's."""
import builtins as _b

from ctorch import _C

__all__ = [
    "get_rng_state", "get_rng_state_all", "set_rng_state", "set_rng_state_all", "manual_seed",
    "manual_seed_all", "seed", "seed_all", "initial_seed", "default_generators"]


def _available():
    return _C._cuda_device_count() > 0


def _index(device):
    """A device argument ('cuda', 'cuda:1', 1, ctorch.device) as a device index (-1: the current)."""
    if isinstance(device, _b.int) and not isinstance(device, _b.bool):
        return device
    if not isinstance(device, str):
        device = str(device)
    kind, index = _C._parse_device(device)
    if kind != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {device}")
    return -1 if index is None else index


def _generator(device="cuda"):
    return _C._cuda_default_generator(_index(device))


def get_rng_state(device="cuda"):
    """The state of a GPU's default generator as a CPU uint8 tensor (raises without a GPU)."""
    return _generator(device).get_state()


def get_rng_state_all():
    """The states of every GPU's default generator, in device order."""
    return [get_rng_state(i) for i in range(_C._cuda_device_count())]


def set_rng_state(new_state, device="cuda"):
    """Sets a GPU's default generator to a state from get_rng_state (nothing without a GPU)."""
    if _available():
        _generator(device).set_state(new_state)


def set_rng_state_all(new_states):
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def manual_seed(seed):
    """Seeds the current GPU's default generator; silently ignored without a GPU."""
    seed = _b.int(seed)  # Generator.manual_seed checks the range and wraps negative seeds
    if _available():
        _generator().manual_seed(seed)


def manual_seed_all(seed):
    """Seeds every GPU's default generator; silently ignored without a GPU."""
    seed = _b.int(seed)
    for i in range(_C._cuda_device_count()):
        _C._cuda_default_generator(i).manual_seed(seed)


def seed():
    """Seeds the current GPU's default generator non-deterministically (nothing without a GPU)."""
    if _available():
        _generator().seed()


def seed_all():
    """Seeds every GPU's default generator with one non-deterministic seed (nothing without a GPU)."""
    n = _C._cuda_device_count()
    if n == 0:
        return
    s = _C._cuda_default_generator(0).seed()
    for i in range(1, n):
        _C._cuda_default_generator(i).manual_seed(s)


def initial_seed():
    """The initial seed of the current GPU's default generator (raises without a GPU)."""
    return _generator().initial_seed()


# One default generator per device, as torch.cuda.default_generators (empty without a GPU).
default_generators = tuple(_C._cuda_default_generator(i) for i in range(_C._cuda_device_count()))
