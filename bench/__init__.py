"""ecom-retrieval-bench: which retriever should a shop ship, with numbers it can trust.

>>> from bench import load_dataset, create_retriever, evaluate, Settings
>>> from bench.engine import open_engine
>>> dataset = load_dataset("homedepot", limit_queries=200)
>>> bm25 = create_retriever("bm25", Settings(engine=open_engine(None, Path(".cache/bench"))))
>>> bm25.index(dataset.corpus)
>>> evaluate(dataset.qrels, bm25.search(dataset.queries, k=100), dataset.relevant_grade)
{'ndcg@10': ..., 'mrr@10': ..., ...}
"""

from typing import Any

from bench.data import Corpus, Dataset, Document, Qrels, Run
from bench.errors import BenchError
from bench.retriever import EngineRetriever, Retriever, Settings

__all__ = [
    "BenchError", "Corpus", "Dataset", "Document", "EngineRetriever", "Qrels", "Retriever", "Run",
    "Settings", "compare", "create_retriever", "evaluate", "load_dataset",
]


def __getattr__(name: str) -> Any:
    # The verbs import ranx / pandas lazily, so `import bench` stays fast.
    if name == "load_dataset":
        from bench.datasets import load

        return load
    if name == "create_retriever":
        from bench.registry import create

        return create
    if name in {"evaluate", "compare"}:
        from bench import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
