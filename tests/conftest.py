"""Shared test set-up: Hypothesis profiles and the sample data's location."""

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
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The read-only sample of real MNIST in Kaggle's layout (``../shared/data/mnist``)."""
    path = SHARED_DATA.resolve() / "mnist"
    if not (path / "train.csv.gz").exists():
        message = f"sample data not found at {path}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
