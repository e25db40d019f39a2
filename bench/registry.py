"""Retriever names -> classes: the built-in adapters plus the `bench.retrievers` entry points.

A third-party package registers an adapter in its own pyproject.toml:

    [project.entry-points."bench.retrievers"]
    my-retriever = "my_package.my_module:MyRetriever"

`hybrid:A+B` names are built on the fly from any two registered adapters (plug-ins too).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from bench.errors import BenchError
from bench.models import DEFAULT_MODEL_NAME, DOC_MODEL_NAME, SINGLE_DOMAIN_MODELS
from bench.retriever import Retriever, Settings

FINETUNED = "retrievers.splade_finetuned:SpladeFinetuned"  # one class, one models/<name> per name
BUILTIN = {
    "bm25": "retrievers.bm25:BM25",
    "bm25-rank": "retrievers.bm25_rank:BM25Rank",
    # k1 and b chosen per dataset on its dev split (a tuned baseline)
    "bm25-tuned": "retrievers.bm25_tuned:BM25Tuned",
    "dense": "retrievers.dense:Dense",
    "splade": "retrievers.splade:Splade",
    DEFAULT_MODEL_NAME: FINETUNED,
    # Inference-free SPLADE (models/splade-doc): documents encoded, queries a tokenizer lookup.
    DOC_MODEL_NAME: "retrievers.splade_doc:SpladeDoc",
    # Single-domain fine-tuned models, for the cross-domain matrix (models/<name>).
    **dict.fromkeys(SINGLE_DOMAIN_MODELS, FINETUNED),
}
HYBRIDS = ["hybrid:splade+dense", "hybrid:bm25+dense", f"hybrid:bm25+{DEFAULT_MODEL_NAME}"]
ENTRY_POINT_GROUP = "bench.retrievers"


def available() -> dict[str, str]:
    """Every retriever name a user can pass to `-r`, with where it comes from."""
    names = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(ep.name, ep.value)
    names.update({hybrid: "retrievers.hybrid:Hybrid" for hybrid in HYBRIDS})
    return names


def default_names() -> list[str]:
    """What `run --all` runs: every built-in, the default hybrids, then plug-ins."""
    return list(available())


def load_class(name: str) -> type[Retriever]:
    target = available().get(name)
    if target is None and name.startswith("hybrid:"):
        target = "retrievers.hybrid:Hybrid"
    if target is None:
        valid = ", ".join(available())
        raise BenchError(f"unknown retriever {name!r}; choose one of: {valid} (or hybrid:A+B)")
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise BenchError(f"retriever {name!r} ({target}) could not be loaded: {err}") from None
    if not (isinstance(cls, type) and issubclass(cls, Retriever)) and not hasattr(cls, "search"):
        raise BenchError(f"retriever {name!r} ({target}) is not a Retriever class")
    return cls


def create(name: str, settings: Settings) -> Retriever:
    """An instance of the adapter called `name`."""
    cls = load_class(name)
    if name.startswith("hybrid:"):
        return cls(name, settings)  # type: ignore[call-arg, arg-type]  # Hybrid takes its name first
    retriever = cls(settings)
    retriever.name = name  # type: ignore[misc]  # an entry point may register one class under several names
    return retriever
