"""Helpers behind ctorch.utils.data: collation, workers and pinning batches."""
from . import collate, pin_memory  # noqa: F401
