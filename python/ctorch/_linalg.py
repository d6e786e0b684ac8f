"""Python-side helpers for the linalg ops (results as named tuples, argument sugar)."""
__all__ = []
