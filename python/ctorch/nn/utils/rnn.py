"""Sequence utilities for recurrent models: pad_sequence."""
import ctorch

__all__ = ["pad_sequence"]


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
