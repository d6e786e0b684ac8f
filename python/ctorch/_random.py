"""Python-side helpers for the random ops (results as named tuples, argument sugar)."""
__all__ = []
