"""pin_memory(batch): the batch with every tensor copied into page-locked host memory (DataLoader's
pin_memory=True), so that .to("cuda", non_blocking=True) can overlap the copy with GPU work."""
import collections.abc
import copy

import ctorch


def pin_memory(data, device=None):
    """`data` with each CPU tensor pinned, recursing into mappings, namedtuples, tuples and
    sequences the way default_collate builds them; anything else (and strings) comes back as is."""
    if isinstance(data, ctorch.Tensor):
        return data.pin_memory()
    if hasattr(data, "pin_memory"):  # a custom batch type pins itself, as in PyTorch
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                # A copy keeps the mapping's own type and extra attributes.
                clone = copy.copy(data)
                clone.update({k: pin_memory(v, device) for k, v in data.items()})
                return clone
            return type(data)({k: pin_memory(v, device) for k, v in data.items()})
        except TypeError:  # a mapping type without copy()/update() or a dict constructor
            return {k: pin_memory(v, device) for k, v in data.items()}
    if isinstance(data, tuple):
        if hasattr(data, "_fields"):  # namedtuple
            return type(data)(*(pin_memory(v, device) for v in data))
        return type(data)(pin_memory(v, device) for v in data)
    if isinstance(data, collections.abc.Sequence):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, v in enumerate(data):
                    clone[i] = pin_memory(v, device)
                return clone
            return type(data)([pin_memory(v, device) for v in data])
        except TypeError:  # e.g. range: no item assignment, no list constructor
            return [pin_memory(v, device) for v in data]
    return data
