"""Run every benchmark script in ``benchmarks/`` and collect their tables in ``benchmarks/results.md``.

Each script runs in its own process, one after another, so that none disturbs
another's timings. The report starts with the machine and library versions, and the
load average before and after (timings from a busy machine say so).

    python benchmarks/run_all.py             # full sizes, writes benchmarks/results.md (``make bench``)
    python benchmarks/run_all.py --smoke     # tiny sizes, seconds per script: checks that each still runs

A new script is picked up by its file name; with ``--smoke`` it gets ``--smoke``,
unless ``SMOKE_ARGUMENTS`` below says otherwise.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.md"
FIRST = ("full_batch.py", "overhead.py")
SMOKE_ARGUMENTS = {
    "modern_recipe.py": ["--epochs", "1"],
    "conv_ops.py": ["--batch", "8", "--repeats", "1"],
    "csv_load.py": ["--rows", "200", "--repeats", "1"],
}


def benchmark_scripts() -> list[Path]:
    """The scripts to run: ours first, then the rest by name; helpers (``_*.py``) and this runner excluded."""
    first = [HERE / name for name in FIRST if (HERE / name).exists()]
    rest = [p for p in HERE.glob("*.py") if p.name not in (*FIRST, Path(__file__).name) and not p.name.startswith("_")]
    return first + sorted(rest)


def openblas_core() -> str:
    """The CPU kernel OpenBLAS picked at run time (e.g. ``Zen``), or ``unknown``."""
    libraries = Path(np.__file__).parent.parent / "numpy.libs"
    for library in libraries.glob("*openblas*"):
        lib = ctypes.CDLL(str(library))
        for name in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
            if hasattr(lib, name):
                getter = getattr(lib, name)
                getter.restype = ctypes.c_char_p
                return getter().decode()
    return "unknown"


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> list[str]:
    """Markdown bullet lines: CPU, cores, Python, NumPy and its BLAS, PyTorch."""
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    lines = [
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; NumPy {np.__version__} with {blas['name']} {blas['version']}, "
        f"kernel {openblas_core()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(not set)')}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(not set)')}",
    ]
    try:
        import torch

        lines.append(f"- PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        lines.append("- PyTorch: not installed (its rows are left out)")
    return lines


def as_markdown(output: str) -> str:
    """A script's output as it is when it prints markdown tables, else in a text block."""
    if any(line.startswith("|") for line in output.splitlines()):
        return output.strip()
    return "```text\n" + output.strip() + "\n```"


def run(script: Path, arguments: list[str]) -> tuple[bool, str, float]:
    """Run one script; returns whether it succeeded, its output (or its error) and its wall seconds."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(script), *arguments], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return False, f"FAILED (exit status {done.returncode}):\n{done.stdout}\n{done.stderr}", seconds
    return True, done.stdout, seconds


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, then rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that every script still runs")
    parser.add_argument("--out", type=Path, help="report file (default: benchmarks/results.md; with --smoke: none)")
    args = parser.parse_args()
    out = args.out or (None if args.smoke else RESULTS)

    load_before = os.getloadavg()[0]
    sections, failed = [], []
    for script in benchmark_scripts():
        arguments = SMOKE_ARGUMENTS.get(script.name, ["--smoke"]) if args.smoke else []
        ok, output, seconds = run(script, arguments)
        command = " ".join(["python", f"benchmarks/{script.name}", *arguments])
        sections.append(f"## {script.stem}\n\n`{command}` ({seconds:.0f} s)\n\n{as_markdown(output)}\n")
        print(f"{script.name}: {'ok' if ok else 'FAILED'} in {seconds:.0f} s", file=sys.stderr)
        if not ok:
            failed.append(script.name)
    header = [
        "# Benchmark results" + (" (smoke run: tiny sizes, the numbers mean nothing)" if args.smoke else ""),
        "",
        f"Written by `benchmarks/run_all.py` on {time.strftime('%Y-%m-%d %H:%M')}; rerun with `make bench`.",
        "",
        *machine(),
        f"- load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}",
        "",
    ]
    report = "\n".join(header) + "\n" + "\n".join(sections)
    if out is None:
        print(report)
    else:
        write_atomically(out, report)
        print(f"wrote {out}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
