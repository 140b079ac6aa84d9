"""ONNX export and import: the way out to every serving engine and viewer, and the way back in.

``export(model, example_input, "model.onnx")`` traces one forward pass and writes it as a standard
ONNX model (ONNX Runtime, TensorRT, OpenVINO and Netron read it); ``load("model.onnx")`` builds a
module that runs an ONNX graph with this framework's own ops, so it can be drawn, fine-tuned and
differentiated. The op mapping table is ``tinygrad_mnist.onnx.mapping``.

Both need the optional ``onnx`` package (``pip install 'tinygrad_mnist[onnx]'``, which also brings
``onnxruntime``); it is imported when they are called, never when this package is.
"""

from .errors import OnnxError, UnsupportedOperatorError
from .export import export
from .load import OnnxModule, load

__all__ = ["OnnxError", "OnnxModule", "UnsupportedOperatorError", "export", "load"]
