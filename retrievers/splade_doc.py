"""Inference-free SPLADE: products are SPLADE-encoded at index time, a query is a tokenizer lookup.

>>> retriever = SpladeDoc(Settings(engine=engine))          # models/splade-doc
>>> retriever.encode_queries(["cordless drill"])            # no transformer runs
[SparseVector(indices=[...], values=[...])]

The model is a SparseEncoder whose Router sends documents through SPLADE (transformer + pooling)
and queries through a SparseStaticEmbedding: one trained weight per vocabulary token, so a
query's vector is the weights of its own tokens. `run --all` trains models/splade-doc when it is
missing (bench.training.ensure_default_model: from models/splade-finetuned when that is complete);
by hand: `python -m bench train --architecture inference-free --dataset homedepot,crowdflower
--doc-reg 3e-4 --doc-reg-threshold 32 --output models/splade-doc`.
Queries are encoded here directly from the tokenizer and the weight vector (the same vector as
`model.encode_query`, without torch's per-call overhead), so single-query latency is close to BM25's.
"""

from __future__ import annotations

import functools

import numpy as np

from bench.engine import SparseVector, Vector
from bench.errors import BenchError
from bench.models import DOC_MODEL_NAME
from bench.splade.inference_free import is_inference_free
from retrievers.splade_finetuned import SpladeFinetuned


class SpladeDoc(SpladeFinetuned):
    name = DOC_MODEL_NAME

    @functools.cached_property
    def query_weights(self) -> tuple[object, np.ndarray]:
        """The query side: its tokenizer and one weight per vocabulary token."""
        if not is_inference_free(self.model):
            raise BenchError(
                f"{self.name}: {self.model_name} encodes queries with a transformer; pass a model trained "
                "with `python -m bench train --architecture inference-free`"
            )
        static = self.model[0].sub_modules["query"][0]
        return static.tokenizer, static.weight.detach().cpu().float().numpy()

    def encode_queries(self, texts: list[str]) -> list[Vector]:
        tokenizer, weights = self.query_weights
        # as SparseStaticEmbedding: no special tokens, each distinct token once, its own weight
        ids = tokenizer(texts, add_special_tokens=False, truncation=True,
                        max_length=self.model.max_seq_length)["input_ids"]
        vectors = []
        for row in ids:
            terms = np.unique(np.asarray(row, dtype=np.int64))
            values = weights[terms]
            keep = values != 0
            vectors.append(SparseVector(terms[keep].tolist(), values[keep].tolist()))
        self.stats["query_terms"] = self.stats.get("query_terms", 0) + sum(len(v) for v in vectors)
        self.stats["queries_encoded"] = self.stats.get("queries_encoded", 0) + len(vectors)
        return vectors
