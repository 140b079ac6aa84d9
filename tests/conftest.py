"""Shared test set-up: Hypothesis profiles and where the real data lives."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# "ci": reproducible (derandomized) and without per-example deadlines, which a busy
# 2-core machine would trip. "dev": random exploration, still without deadlines.
settings.register_profile(
    "ci", deadline=None, derandomize=True, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
# "thorough": ten times the examples everywhere, the op registry's battery included, for local runs.
settings.register_profile("thorough", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
FASHION = Path("/usr/share/datasets/fashion-mnist")


def data_folder(folder: Path, first_file: str, missing: str) -> Path:
    """``folder`` if it holds ``first_file``; else the test fails in CI (which must have it) and skips elsewhere."""
    if not (folder / first_file).exists():
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return folder


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The read-only sample of real MNIST in Kaggle's layout (``../shared/data/mnist``)."""
    path = SHARED_DATA.resolve() / "mnist"
    return data_folder(path, "train.csv.gz", f"sample data not found at {path}")


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    """Debian's Fashion-MNIST files (``apt-get install -y dataset-fashion-mnist``)."""
    missing = f"Fashion-MNIST not found at {FASHION} (apt-get install -y dataset-fashion-mnist)"
    return data_folder(FASHION, "train-images-idx3-ubyte.gz", missing)
