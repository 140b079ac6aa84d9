"""Issue 14's "show it works": PyTorch-style scripts print PyTorch's numbers with only their imports swapped.

Each script in ``tests/pytorch_scripts/`` runs in a subprocess as a user runs it: as written under PyTorch,
and with its import lines rewritten by ``swap_imports`` under tinygrad_mnist. What they print must agree:
the same text between the numbers, every number within float32 tolerance. PyTorch's side is a live run
when torch is installed, else its recorded output ``tests/pytorch_scripts/expected/<script>.txt``, so the
comparison runs on machines without torch too. Re-record (needs torch) after changing a script:

    python tests/test_pytorch_scripts.py --record [script.py ...]
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "pytorch_scripts"
EXPECTED = SCRIPTS / "expected"
NAMES = sorted(path.name for path in SCRIPTS.glob("*.py"))
RTOL, ATOL = 1e-4, 1e-5
#: Looser tolerances, each with its reason: script -> (rtol, atol, reason).
TOLERANCES: dict[str, tuple[float, float, str]] = {}
#: Scripts that do not run yet under tinygrad_mnist, and what they need; strict, so each marker must go when
#: its script passes. The merger's checklist: remove a line when the features it names have landed.
NEEDS: dict[str, str] = {}
#: A printed number: ints, decimals, exponents, inf and nan (not inside words); one group, so that split keeps it.
NUMBER = re.compile(
    r"([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|(?<![A-Za-z_])(?:inf|nan)(?![A-Za-z_])))"
)

#: One rule per import form of the corpus: the PyTorch line's pattern and its tinygrad_mnist replacement.
IMPORT_SWAPS = (
    (r"import torch\.nn\.functional as (\w+)", r"from tinygrad_mnist.nn import functional as \1"),
    (r"import torch\.(nn|optim|autograd) as \1", r"from tinygrad_mnist import \1"),
    (r"import torch\.(nn|optim|autograd) as (\w+)", r"from tinygrad_mnist import \1 as \2"),
    (r"from torch\.([\w.]+) import (.+)", r"from tinygrad_mnist.\1 import \2"),
    (r"from torch import (.+)", r"from tinygrad_mnist import \1"),
    (r"import torch as (\w+)", r"import tinygrad_mnist as \1"),
    (r"import torch", r"import tinygrad_mnist as torch"),
)


def swap_imports(source: str) -> str:
    """``source`` with each PyTorch import line rewritten to import tinygrad_mnist under the same names."""

    def swap(line: str) -> str:
        statement = line.strip()
        for pattern, replacement in IMPORT_SWAPS:
            if match := re.fullmatch(pattern, statement):
                return line[: len(line) - len(line.lstrip())] + match.expand(replacement)
        return line

    return "\n".join(swap(line) for line in source.split("\n"))


def split_numbers(text: str) -> tuple[list[str], list[float]]:
    """The text between numbers, and the numbers, of ``text``: ``"loss 0.5 ok"`` -> ``(["loss ", " ok"], [0.5])``."""
    parts = NUMBER.split(text)
    return parts[0::2], [float(number) for number in parts[1::2]]


def numbers_close(want: float, got: float, rtol: float, atol: float) -> bool:
    """``got`` within ``atol + rtol * |want|`` of ``want``; infinities and NaNs only match themselves."""
    if not (math.isfinite(want) and math.isfinite(got)):
        return want == got or (math.isnan(want) and math.isnan(got))
    return abs(got - want) <= atol + rtol * abs(want)


def compare_outputs(expected: str, actual: str, rtol: float = RTOL, atol: float = ATOL) -> list[str]:
    """What differs between two printed outputs, line by line: text between numbers, or numbers beyond tolerance."""
    want, got = expected.strip().splitlines(), actual.strip().splitlines()
    problems = [f"{len(got)} lines printed, {len(want)} expected"] if len(want) != len(got) else []
    for number, (line_want, line_got) in enumerate(zip(want, got, strict=False), 1):
        (text_want, numbers_want), (text_got, numbers_got) = split_numbers(line_want), split_numbers(line_got)
        close = all(numbers_close(w, g, rtol, atol) for w, g in zip(numbers_want, numbers_got, strict=False))
        if text_want != text_got or not close:
            problems.append(f"line {number}: expected {line_want!r}\n{' ' * (len(str(number)) + 7)}got {line_got!r}")
    return problems


def script_env() -> dict[str, str]:
    """The environment of a script run: one thread, the MNIST sample's folder, tinygrad_mnist importable."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MNIST_DIR": str((SHARED_DATA / "mnist").resolve())}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def run_script(source: str, name: str, folder: Path) -> str:
    """Run ``source`` as ``folder/name`` in a new interpreter; its stdout, or a failure with its stderr."""
    path = folder / name
    path.write_text(source)
    result = subprocess.run(
        [sys.executable, str(path)], cwd=folder, env=script_env(), capture_output=True, text=True, timeout=300
    )
    if result.returncode:
        pytest.fail(f"{name} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}", pytrace=False)
    return result.stdout


class PyTorchRunner:
    """Runs scripts under PyTorch, each in a child forked from one process that imported torch once.

    Importing torch takes longer than most scripts run; forking after it keeps the corpus within its time
    budget while each script still gets a process of its own. Each script runs once per session.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        command = [sys.executable, __file__, "--serve"]
        self.server = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=script_env()
        )
        self.outputs: dict[str, str] = {}

    def output(self, name: str) -> str:
        """What ``name`` prints under PyTorch."""
        if name not in self.outputs:
            path = self.folder / name
            path.write_text((SCRIPTS / name).read_text())
            self.server.stdin.write(f"{path}\n")
            self.server.stdin.flush()
            code = self.server.stdout.readline().strip()
            stdout, stderr = (path.with_suffix(suffix) for suffix in (".out", ".err"))
            stdout, stderr = (file.read_text() if file.exists() else "" for file in (stdout, stderr))
            if code != "0":
                pytest.fail(
                    f"{name} under PyTorch exited with {code or 'its runner'}:\n{stdout}\n{stderr}", pytrace=False
                )
            self.outputs[name] = stdout
        return self.outputs[name]

    def close(self) -> None:
        """Stop the server: it ends when its input does."""
        self.server.stdin.close()
        self.server.wait(timeout=60)


def serve() -> None:
    """The runner's own process: import torch once, then run each script path read from stdin in a forked child."""
    import runpy
    import signal
    import traceback

    import torch  # noqa: F401 - imported once here, inherited by every forked child

    for line in sys.stdin:
        path = Path(line.strip())
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.chdir(path.parent)
            for fd, suffix in ((1, ".out"), (2, ".err")):
                os.dup2(os.open(path.with_suffix(suffix), os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
            sys.argv = [str(path)]
            signal.alarm(300)
            code = 0
            try:
                runpy.run_path(str(path), run_name="__main__")
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)


def torch_installed() -> bool:
    """Whether PyTorch can be imported here."""
    return importlib.util.find_spec("torch") is not None


def case(name: str) -> pytest.param:
    """``name`` as a parameter, marked as a strict expected failure while its script needs missing features."""
    marks = [pytest.mark.xfail(strict=True, reason=f"needs: {NEEDS[name]}")] if name in NEEDS else []
    return pytest.param(name, marks=marks, id=name)


@pytest.fixture(scope="session")
def pytorch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PyTorchRunner | None]:
    """The PyTorch runner for the session, or None without torch."""
    if not torch_installed():
        yield None
        return
    runner = PyTorchRunner(tmp_path_factory.mktemp("pytorch"))
    yield runner
    runner.close()


def needs_data(name: str, request: pytest.FixtureRequest) -> None:
    """Skip (or fail in CI) a script that reads the MNIST sample when the sample is missing."""
    if "MNIST_DIR" in (SCRIPTS / name).read_text():
        request.getfixturevalue("mnist_dir")


@pytest.mark.parametrize("name", [case(name) for name in NAMES])
def test_script_prints_pytorchs_numbers_under_tinygrad_mnist(
    name: str, tmp_path: Path, pytorch: PyTorchRunner | None, request: pytest.FixtureRequest
) -> None:
    needs_data(name, request)
    expected = pytorch.output(name) if pytorch else (EXPECTED / f"{name[:-3]}.txt").read_text()
    actual = run_script(swap_imports((SCRIPTS / name).read_text()), name, tmp_path)
    rtol, atol, _ = TOLERANCES.get(name, (RTOL, ATOL, ""))
    problems = compare_outputs(expected, actual, rtol, atol)
    assert not problems, f"{name} under tinygrad_mnist differs from PyTorch:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_recorded_output_is_what_pytorch_prints(
    name: str, pytorch: PyTorchRunner | None, request: pytest.FixtureRequest
) -> None:
    if pytorch is None:
        pytest.skip("needs torch")
    needs_data(name, request)
    recorded = (EXPECTED / f"{name[:-3]}.txt").read_text()
    problems = compare_outputs(recorded, pytorch.output(name))
    assert not problems, f"re-record {name} (python tests/test_pytorch_scripts.py --record {name}):\n" + "\n".join(
        problems
    )


def test_corpus_has_fifteen_scripts_each_recorded_and_the_tables_name_only_scripts() -> None:
    assert len(NAMES) >= 15
    assert sorted(path.name for path in EXPECTED.glob("*.txt")) == [f"{name[:-3]}.txt" for name in NAMES]
    assert set(NEEDS) <= set(NAMES) and set(TOLERANCES) <= set(NAMES)
    marks = [mark for name in NEEDS for mark in case(name).marks]
    assert len(marks) == len(NEEDS) and all(mark.kwargs["strict"] for mark in marks), "a passing script must fail"


@pytest.mark.parametrize("name", NAMES)
def test_script_imports_only_what_the_swap_rewrites(name: str) -> None:
    allowed = {"torch", "numpy", "math", "gzip", "os", "pathlib"}
    imports = [line for line in (SCRIPTS / name).read_text().splitlines() if re.match(r"(import|from) ", line)]
    modules = {re.match(r"(?:import|from) (\w+)", line).group(1) for line in imports}
    assert modules <= allowed, f"{name} imports {modules - allowed}"
    swapped = [line for line in swap_imports("\n".join(imports)).splitlines() if "torch" in line]
    assert all("tinygrad_mnist" in line for line in swapped), swapped


def test_swap_imports_rewrites_each_import_form_and_nothing_else() -> None:
    source = (
        "import math\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "import torch.optim as optim\nimport torch.optim as opt\nfrom torch import nn, optim\n"
        "from torch.autograd import Function\n"
        "import torch as th\nx = torch.zeros(3)  # import torch\n    import torch\n"
    )
    assert swap_imports(source) == (
        "import math\nimport tinygrad_mnist as torch\nfrom tinygrad_mnist import nn\n"
        "from tinygrad_mnist.nn import functional as F\nfrom tinygrad_mnist import optim\n"
        "from tinygrad_mnist import optim as opt\nfrom tinygrad_mnist import nn, optim\n"
        "from tinygrad_mnist.autograd import Function\n"
        "import tinygrad_mnist as th\nx = torch.zeros(3)  # import torch\n    import tinygrad_mnist as torch\n"
    )


def test_swapped_imports_name_modules_tinygrad_mnist_has() -> None:
    namespace: dict[str, object] = {}
    exec(swap_imports("import torch\nfrom torch import nn, optim\nfrom torch.autograd import Function"), namespace)
    exec(swap_imports("import torch.nn.functional as F\nimport torch.nn as nn\nimport torch.optim as optim"), namespace)
    assert {"torch", "nn", "optim", "Function", "F"} <= set(namespace)
    assert namespace["F"].__name__ == "tinygrad_mnist.nn.functional"


def test_compare_outputs_checks_numbers_within_tolerance_and_the_text_between() -> None:
    assert compare_outputs("loss 1.000000 acc 0.5\n", "loss 1.000050 acc 0.5") == []
    assert compare_outputs("x -0.00000", "x 0.00000") == []
    assert compare_outputs("loss 1.0", "loss 1.001")
    assert compare_outputs("loss 1.0", "Loss 1.0")
    assert compare_outputs("v [1, 2]", "v [1, 2, 3]")
    assert compare_outputs("a 1\nb 2", "a 1")
    assert compare_outputs("tiny 0.0", "tiny 0.0001")
    assert compare_outputs("nan inf", "nan inf") == []
    assert compare_outputs("nan", "0.0")
    assert compare_outputs("inf", "-inf")
    assert split_numbers("step 1e-05 of -3.5, W1 info") == (["step ", " of ", ", W", " info"], [1e-05, -3.5, 1.0])


def record(names: list[str]) -> None:
    """Write each script's PyTorch output to ``expected/<script>.txt`` (needs torch)."""
    import tempfile

    if not torch_installed():
        sys.exit("recording needs PyTorch installed")
    EXPECTED.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        runner = PyTorchRunner(Path(folder))
        for name in names or NAMES:
            output = runner.output(name)
            (EXPECTED / f"{Path(name).stem}.txt").write_text(output)
            print(f"recorded {name}: {len(output.splitlines())} lines")
        runner.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    elif sys.argv[1:2] == ["--record"]:
        record([Path(name).name for name in sys.argv[2:]])
    else:
        sys.exit(__doc__)
