"""Flatten parameters into one vector and copy a vector back into parameters."""
import ctorch

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """Concatenation of every parameter flattened (differentiable w.r.t. the parameters)."""
    if isinstance(parameters, ctorch.Tensor):
        parameters = [parameters]
    return ctorch.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Replaces each parameter's data with the matching slice of vec, in order (as PyTorch, the
    parameters' .data is rebound to views of vec)."""
    if not isinstance(vec, ctorch.Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    if isinstance(parameters, ctorch.Tensor):
        parameters = [parameters]
    pointer = 0
    for param in parameters:
        n = param.numel()
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n
