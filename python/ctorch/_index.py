"""Python-side helpers for the index ops (results as named tuples, argument sugar)."""
__all__ = []
