"""ctorch.nn.functional: the functional ops available so far."""
from ctorch._index import one_hot

__all__ = ["one_hot"]
