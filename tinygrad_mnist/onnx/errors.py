"""The ONNX package's errors, and the one place that imports the optional ``onnx`` packages."""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = "pip install 'tinygrad_mnist[onnx]' (or: pip install onnx onnxruntime)"


class OnnxError(ValueError):
    """A model that cannot be exported to ONNX, or an ONNX file that cannot be loaded; the message says why."""


class UnsupportedOperatorError(OnnxError):
    """An op with no ONNX mapping (export), or an ONNX operator with no tinygrad_mnist mapping (load)."""


def require(package: str) -> ModuleType:
    """Import the optional ``package`` (``onnx`` or ``onnxruntime``) now, when it is needed.

    The core never imports either at module import time; without them, this raises a
    ``ModuleNotFoundError`` that says how to install them.
    """
    try:
        return importlib.import_module(package)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(f"ONNX support needs the {package} package: {INSTALL_HINT}", name=package) from None
