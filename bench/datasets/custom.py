"""A shop's own dataset folder read like a built-in dataset: a BEIR folder or a shop's tables.

>>> loader = CustomLoader(detect(Path("my-shop")))     # bench.datasets.spec.detect
>>> loader.missing(Path("my-shop"))                     # None when the files are there
>>> source = loader.read(Path("my-shop"))               # a bench.datasets.protocol.Source

Unlike the built-in datasets, a custom corpus is used as given (every product, every test query);
dataset.toml `max_docs` asks for the built-in corpus sampling (judged products + a seeded fill).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from bench.datasets.protocol import Source
from bench.datasets.spec import DatasetSpec


class CustomLoader:
    """`missing()` / `read()` like a built-in loader module, for a BEIR or table folder."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self.NAME = spec.name

    def _module(self) -> ModuleType:
        # imported on use: shop_tables needs pandas, which `import bench.datasets` should not pay for
        from bench.datasets import beir, shop_tables

        return beir if self.spec.format == "beir" else shop_tables

    def missing(self, directory: Path) -> str | None:
        return self._module().missing(directory, self.spec)

    def read(self, directory: Path) -> Source:
        source = self._module().read(directory, self.spec)
        source.fill_to = self.spec.max_docs
        source.max_test_queries = None
        if self.spec.max_docs is not None:
            source.notes.append(f"test corpus sampled to {self.spec.max_docs} products (max_docs)")
        return source
