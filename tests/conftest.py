"""Shared fixtures: real data from ../shared, and skips that turn into failures under CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
SPECS = ROOT.parent / "shared" / "specs"
SAMPLE = ROOT / "sample_data" / "genai_requests.parquet"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip when something the test needs is missing locally; fail instead under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real request data folder (skipped where a checkout does not have it)."""
    require(REALDATA.is_dir(), f"real data folder {REALDATA} is missing")
    return REALDATA


@pytest.fixture(scope="session")
def specs() -> Path:
    """Upstream OpenSLO and Sloth example files."""
    require(SPECS.is_dir(), f"specs folder {SPECS} is missing")
    return SPECS


@pytest.fixture(scope="session")
def sample_path() -> Path:
    """The bundled sample data set."""
    assert SAMPLE.is_file(), "sample_data/genai_requests.parquet is part of the repository"
    return SAMPLE
