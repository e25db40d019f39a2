"""Every test runs offline, as CI and an air-gapped user do, on the data shipped in datasets/."""

import os

import pytest

from bench.data import Dataset

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def homedepot() -> Dataset:
    """The real Home Depot test split (shipped slice), 300 seeded queries over its full test corpus."""
    from bench.datasets import load

    return load("homedepot", split="test", limit_queries=300)
