"""Helpers behind ctorch.utils.data (collation now; worker and pin-memory helpers join them)."""
from . import collate  # noqa: F401
