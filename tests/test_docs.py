"""The documentation cannot lie: its code blocks run, and the API reference names every public name.

Each ```python block of README.md and docs/*.md runs, in order, one namespace per file
(a block may use what an earlier block of its file defined), with a temporary folder as
the working directory and ``$TINYGRAD_MNIST_DATA`` pointing at the sample's
train.csv.gz. A failure's traceback gives the Markdown file and its line. Blocks that
must not run are fenced as ```text or ```bash.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
#: Modules whose public names docs/api.md must mention; the command line is documented by its commands.
PUBLIC_MODULES = (
    "tinygrad_mnist",
    "tinygrad_mnist.autograd",
    "tinygrad_mnist.autograd.functional",
    "tinygrad_mnist.ops",
    "tinygrad_mnist.nn",
    "tinygrad_mnist.nn.conv",
    "tinygrad_mnist.nn.functional",
    "tinygrad_mnist.nn.init",
    "tinygrad_mnist.optim",
    "tinygrad_mnist.lr_scheduler",
    "tinygrad_mnist.data",
    "tinygrad_mnist.data.loader",
    "tinygrad_mnist.files",
    "tinygrad_mnist.train",
    "tinygrad_mnist.checkpoint",
    "tinygrad_mnist.serialization",
    "tinygrad_mnist.plots",
    "tinygrad_mnist.viz",
    "tinygrad_mnist.recipes",
    "tinygrad_mnist.testing",
    "tinygrad_mnist.onnx",
)


def python_blocks(markdown: str) -> list[tuple[int, str]]:
    """Each ```python block's code with the 1-based line of the Markdown where the code starts."""
    return [(markdown.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in PYTHON_BLOCK.finditer(markdown)]


def public_names(module_name: str) -> list[str]:
    """``__all__``, or else the classes and functions the module itself defines without a leading underscore."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
        if value.__module__ == module_name
    ]


def test_python_blocks_are_found_with_their_lines_and_other_fences_are_not():
    markdown = "# Title\n```python\nx = 1\ny = 2\n```\ntext\n```bash\nmake demo\n```\n```python\nz = 3\n```\n"
    assert python_blocks(markdown) == [(3, "x = 1\ny = 2\n"), (11, "z = 3\n")]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_code_blocks_run(document, mnist_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYGRAD_MNIST_DATA", str(mnist_dir / "train.csv.gz"))
    blocks = python_blocks(document.read_text())
    namespace: dict[str, object] = {"__name__": f"docs.{document.stem}"}
    for line, code in blocks:
        # Padding with newlines makes the traceback's line numbers the Markdown file's own.
        exec(compile("\n" * (line - 1) + code, str(document), "exec"), namespace)


def test_each_page_of_ours_has_code_that_runs():
    """A page whose examples were fenced as anything but ```python would silently stop being checked."""
    for name in ("README.md", "docs/index.md", "docs/autodiff.md", "docs/api.md", "docs/testing.md"):
        assert python_blocks((ROOT / name).read_text()), f"{name} has no ```python block"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_the_api_reference_mentions_every_public_name(module_name):
    reference = (ROOT / "docs" / "api.md").read_text()
    missing = [name for name in public_names(module_name) if f"`{name}" not in reference]
    assert not missing, f"docs/api.md does not mention {module_name}'s public names {missing}"


def test_the_api_reference_mentions_every_public_tensor_method():
    from tinygrad_mnist import Tensor

    reference = (ROOT / "docs" / "api.md").read_text()
    missing = [name for name in vars(Tensor) if not name.startswith("_") and f".{name}" not in reference]
    assert not missing, f"docs/api.md does not mention Tensor's {missing}"
