"""Python-side helpers for the reduce ops (results as named tuples, argument sugar)."""
__all__ = []
