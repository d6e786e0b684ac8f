"""ctorch.nn: only `functional` so far (modules and layers come later)."""
from ctorch.nn import functional  # noqa: F401
