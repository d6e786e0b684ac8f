"""ctorch.nn.utils: gradient clipping, parameter/vector conversion and rnn sequence padding."""
from ctorch.nn.utils import rnn  # noqa: F401
from ctorch.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
from ctorch.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
