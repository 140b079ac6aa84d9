"""``parameters_to_vector`` and ``vector_to_parameters``: all parameters as one flat vector and back."""

from __future__ import annotations

from collections.abc import Iterable

from ...autograd import no_grad
from ...tensor import Tensor, cat


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and joined into one 1-D tensor, in order (differentiable, as PyTorch's)."""
    return cat([param.reshape(-1) for param in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, each reshaped to its parameter."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    parameters, offset = list(parameters), 0
    needed = sum(param.numel() for param in parameters)
    if vec.ndim != 1 or vec.numel() != needed:
        raise ValueError(
            f"vector_to_parameters: vec has shape {tuple(vec.shape)}, but the parameters hold {needed} numbers; "
            "give a 1-D tensor of that length (e.g. from parameters_to_vector)"
        )
    with no_grad():
        for param in parameters:
            param.copy_(vec[offset : offset + param.numel()].reshape(param.shape))
            offset += param.numel()
