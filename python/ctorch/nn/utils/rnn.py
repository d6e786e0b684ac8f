"""Sequence utilities for recurrent models, as torch.nn.utils.rnn: pad_sequence, PackedSequence,
pack_padded_sequence, pad_packed_sequence, pack_sequence, unpad_sequence, unpack_sequence,
invert_permutation.

A PackedSequence holds the time-major concatenation of the active rows of every step: step t contributes
the first batch_sizes[t] sequences (sorted by decreasing length), so batch_sizes is non-increasing.
Packing and padding are built from narrow / cat / index_select, so gradients flow through both."""
from collections import namedtuple

import ctorch

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]

_PackedSequenceBase = namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_PackedSequenceBase):
    """(data, batch_sizes, sorted_indices, unsorted_indices). batch_sizes is an int64 CPU tensor;
    sorted_indices maps sorted position -> original batch index (None when the input was already sorted)
    and unsorted_indices is its inverse. Build it with pack_padded_sequence / pack_sequence."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise TypeError("PackedSequence: batch_sizes is required (build it with pack_padded_sequence "
                            "or pack_sequence)")
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """Moves / casts data like Tensor.to; the indices follow data's device, batch_sizes stays on CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices = None if self.sorted_indices is None else self.sorted_indices.to(data.device)
        unsorted_indices = None if self.unsorted_indices is None else self.unsorted_indices.to(data.device)
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cpu(self, *args, **kwargs):
        return self.to("cpu")

    def double(self):
        return self.to(dtype=ctorch.float64)

    def float(self):
        return self.to(dtype=ctorch.float32)


def invert_permutation(permutation):
    """The inverse of a 1-D int64 permutation tensor (None stays None)."""
    if permutation is None:
        return None
    perm = [int(p) for p in permutation.tolist()]
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return ctorch.tensor(inverse, dtype=ctorch.int64, device=permutation.device)


def _lengths_list(lengths):
    if isinstance(lengths, ctorch.Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D tensor, got {lengths.dim()}D")
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a padded batch (T x B x *, or B x T x * with batch_first) of sequences with the given lengths.
    With enforce_sorted=False the batch is sorted by decreasing length first and the permutation is kept
    in sorted_indices / unsorted_indices."""
    lengths = _lengths_list(lengths)
    batch_dim = 0 if batch_first else 1
    if enforce_sorted:
        sorted_indices = None
    else:
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable, like torch.sort on CPU
        lengths = [lengths[i] for i in order]
        sorted_indices = ctorch.tensor(order, dtype=ctorch.int64, device=input.device)
        if len(order) == input.size(batch_dim):
            input = input.index_select(batch_dim, sorted_indices)
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if batch_first:
        input = input.transpose(0, 1)
    batch_size = input.size(1)
    if len(lengths) != batch_size:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
                           f"(batch_size={batch_size})")
    if lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in "
                           "'lengths' that is <= 0")
    for a, b in zip(lengths, lengths[1:]):
        if a < b:
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                               "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                               "pack_sequence to sidestep this requirement if you do not need ONNX "
                               "exportability.")
    if lengths[0] > input.size(0):
        # PyTorch's CPU kernel reads past the input here; refuse instead
        raise RuntimeError(f"pack_padded_sequence: a length ({lengths[0]}) exceeds the padded sequence "
                           f"length ({input.size(0)})")
    batch_sizes = [sum(1 for n in lengths if n > t) for t in range(lengths[0])]
    steps = input.unbind(0)
    data = ctorch.cat([steps[t].narrow(0, 0, b) for t, b in enumerate(batch_sizes)], 0)
    return PackedSequence(data, ctorch.tensor(batch_sizes, dtype=ctorch.int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of pack_padded_sequence: returns (padded T x B x * (B x T x * with batch_first), lengths),
    lengths an int64 CPU tensor, both in the original batch order. total_length pads T further."""
    batch_sizes = [int(b) for b in sequence.batch_sizes.tolist()]
    max_seq_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in "
                             f"input, but got total_length={total_length} and max sequence length being "
                             f"{max_seq_length}")
    else:
        total_length = max_seq_length
    data = sequence.data
    max_batch = batch_sizes[0]
    trailing = tuple(data.shape[1:])
    steps = []
    offset = 0
    for b in batch_sizes:
        chunk = data.narrow(0, offset, b)
        offset += b
        if b < max_batch:
            chunk = ctorch.cat([chunk, data.new_full((max_batch - b,) + trailing, padding_value)], 0)
        steps.append(chunk)
    padded = ctorch.stack(steps, 0)
    if total_length > max_seq_length:
        fill = data.new_full((total_length - max_seq_length, max_batch) + trailing, padding_value)
        padded = ctorch.cat([padded, fill], 0)
    lengths = [sum(1 for b in batch_sizes if b > i) for i in range(max_batch)]
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = [lengths[int(i)] for i in sequence.unsorted_indices.tolist()]
    return padded, ctorch.tensor(lengths, dtype=ctorch.int64)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stacks variable-length sequences (each L_i x *) into max_L x B x * (B x max_L x * when batch_first),
    filling with padding_value on padding_side. Built from cat/stack so gradients reach every sequence."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, ctorch.Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if len(sequences) == 0:
        raise RuntimeError("received an empty list of sequences")
    max_len = max(s.size(0) for s in sequences)
    trailing = tuple(sequences[0].shape[1:])
    padded = []
    for s in sequences:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError("pad_sequence: all sequences must have the same trailing dimensions, got "
                               f"{tuple(s.shape[1:])} and {trailing}")
        missing = max_len - s.size(0)
        if missing == 0:
            padded.append(s)
            continue
        fill = s.new_full((missing,) + trailing, padding_value)
        padded.append(ctorch.cat([s, fill] if padding_side == "right" else [fill, s]))
    return ctorch.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Splits a padded batch back into a list of its sequences, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq.narrow(0, 0, n) for seq, n in zip(padded_sequences.unbind(0), _lengths_list(lengths))]


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of variable-length sequences (each L_i x *)."""
    lengths = [s.size(0) for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """Inverse of pack_sequence: the list of sequences in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
