"""The fine-tuned models: their names, their directories and when a directory is complete (no torch).

>>> default_model_dir(DEFAULT_MODEL_NAME)
PosixPath('models/splade-finetuned')
>>> is_complete(default_model_dir(DOC_MODEL_NAME))    # True once its marker (written last) and weights exist
False
>>> cross_domain_models()["splade-ft-homedepot"]     # the datasets whose train split it learns from
['homedepot']

A fine-tuned retriever benchmarks `models/<its name>` (retrievers/splade_finetuned.py and
splade_doc.py; bench/registry.py registers every name here); `python -m bench train` writes such a
directory (bench/training/), and `run --all` trains the `RUN_ALL_MODELS` first when missing.
This module is the one place that knows these names, and it imports nothing heavy, so the
command line, the registry and the retrievers can all ask it.
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path("models")
DEFAULT_MODEL_NAME = "splade-finetuned"  # multi-domain: every present dataset's train split
DOC_MODEL_NAME = "splade-doc"  # inference-free: documents SPLADE-encoded, a query a weight lookup
SINGLE_DOMAIN_MODELS = {"splade-ft-homedepot": ["homedepot"], "splade-ft-crowdflower": ["crowdflower"]}
"""Single-domain models of the cross-domain matrix: benchmarked once their directory exists."""
MULTI_DOMAIN_DATASETS = ["homedepot", "crowdflower"]
RUN_ALL_MODELS = (DEFAULT_MODEL_NAME, DOC_MODEL_NAME)  # `run --all` trains them when missing, in order
ARCHITECTURES = {DOC_MODEL_NAME: "inference-free"}  # model name -> architecture, when not plain SPLADE
MARKER = "bench_model.json"  # written last: its presence marks a complete model directory


def default_model_dir(name: str = DEFAULT_MODEL_NAME) -> Path:
    """`models/<name>`: where the retriever called `name` finds its model."""
    return MODELS_DIR / name


def partial_dir(output: Path) -> Path:
    """`<output>.partial`: where a model is trained (checkpoints too) until it is complete."""
    return output.with_name(output.name + ".partial")


def is_complete(model_dir: Path) -> bool:
    """A finished `bench train` directory: the marker (written last) and safetensors weights."""
    model_dir = Path(model_dir)
    return (model_dir / MARKER).is_file() and any(model_dir.rglob("*.safetensors"))


def cross_domain_models() -> dict[str, list[str]]:
    """Retriever name -> datasets its model is trained on (the cross-domain matrix's rows).

    Each name benchmarks `models/<name>` (see retrievers/splade_finetuned.py and splade_doc.py);
    train the missing ones with `bench.training.ensure_default_model(name=..., datasets=...)`.
    `run --all` trains the `RUN_ALL_MODELS` when missing; the single-domain ones join it once
    their model exists. In training order: splade-doc starts from splade-finetuned.
    """
    return {
        **{name: list(datasets) for name, datasets in SINGLE_DOMAIN_MODELS.items()},
        DEFAULT_MODEL_NAME: list(MULTI_DOMAIN_DATASETS),
        DOC_MODEL_NAME: list(MULTI_DOMAIN_DATASETS),
    }
