"""Optimizers with PyTorch's update rules, defaults and state layout: SGD, Adam, AdamW.

Updates are in place on each ``param.numpy()`` with preallocated buffers, a fixed
handful of NumPy calls per parameter per step, and Python-float hyperparameters,
so float32 parameters stay float32.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .autograd import no_grad
from .tensor import Tensor, zero_grads

ParamsOrGroups = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: ``param_groups`` (each a dict of hyperparameters plus ``params``) and per-parameter ``state``."""

    def __init__(self, params: ParamsOrGroups, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        self._scratch: dict[Tensor, np.ndarray] = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; pass model.parameters()")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add parameters with their own hyperparameters (missing ones take the defaults)."""
        params = list(group["params"])
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for index, param in enumerate(params):
            if not isinstance(param, Tensor) or not param.is_leaf or not param.requires_grad:
                raise ValueError(
                    f"{type(self).__name__}: parameter {index} is not a leaf Tensor that requires grad; "
                    "pass model.parameters()"
                )
            if id(param) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {index} appears in more than one group")
            seen.add(id(param))
        self.param_groups.append({**self.defaults, **group, "params": params})

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (before the next backward)."""
        zero_grads((param for group in self.param_groups for param in group["params"]), set_to_none)

    @no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient, in place (each update bumps the parameter's version)."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    # One C-order copy of a transposed gradient (as ``x @ w.T`` gives ``w``) beats
                    # running every elementwise pass of the update over mixed memory layouts.
                    # (``np.asarray(order="C")``, not ``ascontiguousarray``, which makes a 0-d array 1-d.)
                    grad = np.asarray(param.grad.numpy(), order="C")
                    self._update(param, grad, group, self.state.setdefault(param, {}))

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _buffer(self, param: Tensor) -> np.ndarray:
        """A scratch array shaped like ``param``, reused every step (no allocation per step)."""
        buffer = self._scratch.get(param)
        values = param.numpy()
        if buffer is None or buffer.shape != values.shape or buffer.dtype != values.dtype:
            buffer = self._scratch[param] = np.empty_like(values)
        return buffer

    # ----- state ------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: ``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``.

        Parameters are numbered in group order; the arrays are shared, not copied.
        """
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        groups = [{**g, "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state (copied, cast to each parameter's dtype) from ``state_dict()``."""
        groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in groups]
        if sizes != saved_sizes:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state has parameter groups of sizes {saved_sizes}, "
                f"this optimizer {sizes}; build the optimizer over the same model.parameters()"
            )
        params = [p for g in self.param_groups for p in g["params"]]
        state: dict[Tensor, dict[str, Any]] = {}
        for key, saved in state_dict["state"].items():
            param = params[int(key)]
            for name, value in saved.items():
                if isinstance(value, np.ndarray) and value.shape != param.shape:
                    raise ValueError(
                        f"{type(self).__name__}.load_state_dict: state {name!r} of parameter {key} has shape "
                        f"{value.shape}, the parameter {param.shape}"
                    )
            state[param] = {
                name: value.astype(param.dtype) if isinstance(value, np.ndarray) else copy.deepcopy(value)
                for name, value in saved.items()
            }
        self.state = state
        for group, saved in zip(self.param_groups, groups, strict=True):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's rule:

    g = grad + weight_decay * p; buf = momentum * buf + (1 - dampening) * g (buf = g at the
    first step); g = g + momentum * buf with Nesterov, else buf; p -= lr * g.
    """

    def __init__(
        self,
        params: ParamsOrGroups,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
        defaults = {
            "lr": float(lr),
            "momentum": float(momentum),
            "dampening": float(dampening),
            "weight_decay": float(weight_decay),
            "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        momentum, weight_decay = group["momentum"], group["weight_decay"]  # float() only where used: a hot path
        if weight_decay != 0:
            grad = grad + float(weight_decay) * param.numpy()
        if momentum != 0:
            momentum = float(momentum)
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(grad)  # an array even for 0-d: *= below writes it
            else:
                buffer *= momentum
                buffer += (1.0 - float(group["dampening"])) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        step = self._buffer(param)
        np.multiply(grad, float(group["lr"]), out=step)  # float(): a NumPy scalar lr must not widen float32
        param.sub_(step)


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's rule with bias correction:

    m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2;
    p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
    ``weight_decay`` adds ``weight_decay * p`` to the gradient (L2); AdamW decouples it.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params: ParamsOrGroups,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: lr, eps and weight_decay must be >= 0")
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {betas}")
        defaults = {
            "lr": float(lr),
            "betas": (float(betas[0]), float(betas[1])),
            "eps": float(eps),
            "weight_decay": float(weight_decay),
            "amsgrad": amsgrad,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(param.numpy()), exp_avg_sq=np.zeros_like(param.numpy()))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param.numpy())
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq, scratch = state["exp_avg"], state["exp_avg_sq"], self._buffer(param)

        if weight_decay != 0:
            if self.decoupled_weight_decay:
                param.mul_(1.0 - lr * weight_decay)
            else:
                grad = grad + weight_decay * param.numpy()
        np.subtract(grad, exp_avg, out=scratch)  # m += (1 - beta1) * (g - m), PyTorch's lerp
        scratch *= 1.0 - beta1
        exp_avg += scratch
        exp_avg_sq *= beta2
        np.multiply(grad, 1.0 - beta2, out=scratch)
        scratch *= grad
        exp_avg_sq += scratch
        if group["amsgrad"]:
            second_moment = np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        else:
            second_moment = exp_avg_sq

        step_size = lr / (1.0 - beta1**step)
        np.sqrt(second_moment, out=scratch)
        scratch /= math.sqrt(1.0 - beta2**step)
        scratch += eps
        np.divide(exp_avg, scratch, out=scratch)
        scratch *= step_size
        param.sub_(scratch)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay`` before the Adam step."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsOrGroups,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
