"""default_collate / default_convert: turn a list of samples into a batch (tensors stacked, structure kept)."""
import collections
import copy
import re
import sys

import ctorch

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert",
           "default_collate_err_msg_format"]

# NumPy dtype codes of byte strings, unicode strings and objects: arrays of these do not become tensors.
np_str_obj_array_pattern = re.compile(r"[SaUO]")


def default_convert(data):
    """Converts NumPy arrays and scalars inside `data` (recursing into mappings and sequences) to tensors."""
    elem_type = type(data)
    if isinstance(data, ctorch.Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if elem_type.__name__ == "ndarray" and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return ctorch.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                # A shallow copy keeps the mapping's type and attributes (e.g. OrderedDict, defaultdict).
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as PyTorch returns
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def collate(batch, *, collate_fn_map=None):
    """Collates `batch` using collate_fn_map (element type -> function; exact type first, then isinstance
    in insertion order) for the leaves, and recursing into mappings, namedtuples and sequences."""
    if not _numpy_registered and collate_fn_map is default_collate_fn_map:
        _register_numpy()
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                              for key in elem})
                return clone
            return elem_type({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                              for key in elem})
        except TypeError:
            return {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = collate(samples, collate_fn_map=collate_fn_map)
                return clone
            return elem_type([collate(samples, collate_fn_map=collate_fn_map) for samples in transposed])
        except TypeError:
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    return ctorch.stack(list(batch), 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([ctorch.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    # The scalars' own dtypes promote with PyTorch's rules (int64 with float32 is float32).
    return ctorch.as_tensor(list(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    return ctorch.tensor(batch, dtype=ctorch.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return ctorch.tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


# Leaf collate functions by element type; callers may extend or override entries (PyTorch's extension point).
# The NumPy entries sit right after Tensor as in PyTorch, but are added only once NumPy has been imported by
# someone (a batch cannot hold NumPy objects before that), so that importing ctorch does not load NumPy.
default_collate_fn_map = {ctorch.Tensor: collate_tensor_fn}
default_collate_fn_map[float] = collate_float_fn
default_collate_fn_map[int] = collate_int_fn
default_collate_fn_map[str] = collate_str_fn
default_collate_fn_map[bytes] = collate_str_fn
_numpy_registered = False


def _register_numpy():
    global _numpy_registered
    np = sys.modules.get("numpy")
    if np is None or not hasattr(np, "ndarray"):
        return
    _numpy_registered = True
    # Rebuild in place (callers may hold the dict) with the NumPy entries right after Tensor's.
    items = list(default_collate_fn_map.items())
    at = next((i + 1 for i, (k, _) in enumerate(items) if k is ctorch.Tensor), 0)
    numpy_items = [(np.ndarray, collate_numpy_array_fn),
                   ((np.bool_, np.number, np.object_), collate_numpy_scalar_fn)]
    numpy_items = [(k, v) for k, v in numpy_items if k not in default_collate_fn_map]
    default_collate_fn_map.clear()
    default_collate_fn_map.update(items[:at] + numpy_items + items[at:])


_register_numpy()  # NumPy already loaded: register now


def default_collate(batch):
    """Stacks a list of samples into a batch: tensors/arrays/numbers become tensors with a leading batch
    dimension, str/bytes stay lists, and mappings, namedtuples and sequences are collated field by field."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
