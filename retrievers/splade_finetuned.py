"""SPLADE fine-tuned by `python -m bench train`: the `splade` adapter with a trained model.

>>> retriever = SpladeFinetuned(Settings(engine=engine))             # models/splade-finetuned
>>> retriever.info()["trained_on"]
['homedepot', 'crowdflower']

The model directory is `Settings.model` when given, else `models/<retriever name>`: the
default `splade-finetuned` is one multi-domain model trained on the train splits of every
present dataset (`run --all` trains it, then splade-doc, when missing:
`bench.training.ensure_default_model`). A model saved by `--vocabulary data` encodes with its live
head rows only (the same vectors, bench/splade/vocabulary.py). Registering the same class under another
name, e.g. `splade-ft-homedepot`, benchmarks `models/splade-ft-homedepot` (the cross-domain
matrix: `bench.models.cross_domain_models()`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.io import read_json
from bench.models import DEFAULT_MODEL_NAME, MARKER, default_model_dir, is_complete, partial_dir
from retrievers.splade import Splade


class SpladeFinetuned(Splade):
    name = DEFAULT_MODEL_NAME

    @property
    def model_name(self) -> str | None:
        if self.settings.model:
            return self.settings.model
        model_dir = default_model_dir(self.name)
        if not is_complete(model_dir):
            staging = partial_dir(model_dir)
            interrupted = f" (an interrupted run is in {staging})" if staging.exists() else ""
            raise BenchError(
                f"{self.name}: no trained model in {model_dir}{interrupted}; train it with "
                f"`python -m bench train --dataset NAME --output {model_dir}` or pass --model DIR"
            )
        return str(model_dir)

    def info(self) -> dict[str, Any]:
        info = super().info()
        marker = Path(self.identity["model_path"]) / MARKER
        if marker.is_file():
            meta = read_json(marker)
            info["trained_on"] = meta.get("trained_on", [])
            info["base_model"] = meta.get("base")
        return info
