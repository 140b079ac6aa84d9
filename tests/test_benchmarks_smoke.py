"""The benchmarks still run: ``benchmarks/run_all.py --smoke`` produces every script's tables.

Tiny sizes, so the numbers mean nothing and none is asserted; what is checked is
that every script in ``benchmarks/`` ran to the end and printed the tables the docs
quote, so the benchmarks cannot rot between two ``make bench``.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def test_run_all_smoke_writes_every_benchmarks_tables(tmp_path, mnist_dir):
    report_path = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--smoke", "--out", str(report_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = report_path.read_text()
    assert "FAILED" not in report
    assert "- CPU:" in report and "NumPy" in report
    scripts = [p for p in BENCHMARKS.glob("*.py") if p.name != "run_all.py" and not p.name.startswith("_")]
    for script in scripts:
        assert f"## {script.stem}\n" in report, f"{script.name} has no section"
    for heading in (
        "| code | dtype | seconds / iteration | time vs lean | peak memory (MB) | memory vs lean |",
        "| code | µs / step | ops recorded / step | overhead µs / op, (step - lean) / ops |",
        "| code | ms / step | outside the kernels |",
        "| code | s / epoch | vs PyTorch |",
    ):
        assert heading in report
    for row in ("| the notebook's own NumPy code | float64 |", "| lean NumPy", "| tinygrad_mnist"):
        assert row in report
    assert "| n/a |" not in report.split("## overhead")[0], "a peak memory could not be measured"
