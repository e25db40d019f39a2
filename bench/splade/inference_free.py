"""Inference-free SPLADE: queries get one static weight per token, documents the SPLADE transformer.

>>> model = inference_free(load_sparse(None), product_texts)   # query weights start from BM25's IDF
>>> is_inference_free(model)
True
>>> document_modules(model)          # the document route: transformer + SpladePooling
[MLMTransformer(...), SpladePooling(...)]

The model is sentence-transformers' own `Router.for_query_document` with a `SparseStaticEmbedding`
on the query side, so it saves and loads as a stock SparseEncoder. Training builds it
(`bench train --architecture inference-free`); retrievers/splade_doc.py encodes queries from its
static weights; bench/splade/vocabulary.py restricts both routes to the training wordpieces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SparseEncoder


def document_modules(model: SparseEncoder) -> list:
    """The modules that encode documents: the whole model, or the document route of a Router."""
    from sentence_transformers.sparse_encoder.modules import Router

    return list(model[0].sub_modules["document"]) if isinstance(model[0], Router) else list(model)


def is_inference_free(model: SparseEncoder) -> bool:
    """Queries are encoded by a SparseStaticEmbedding (a weight per token), not a transformer."""
    from sentence_transformers.sparse_encoder.modules import Router, SparseStaticEmbedding

    router = model[0]
    return isinstance(router, Router) and "query" in router.sub_modules and any(
        isinstance(module, SparseStaticEmbedding) for module in router.sub_modules["query"]
    )


def inference_free(model: SparseEncoder, texts: list[str]) -> SparseEncoder:
    """Inference-free SPLADE: a Router whose query side is one static weight per vocabulary token
    (SparseStaticEmbedding, initialised with the IDF of `texts`) and whose document side is the
    SPLADE model's own transformer and pooling. Encoding a query is a tokenizer lookup."""
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import Router, SparseStaticEmbedding

    if is_inference_free(model):
        return model  # --base is already one: keep its trained query weights
    tokenizer = model.tokenizer
    query = SparseStaticEmbedding(tokenizer=tokenizer, weight=idf_weights(tokenizer, texts))
    router = Router.for_query_document(query_modules=[query], document_modules=document_modules(model))
    return SparseEncoder(modules=[router], similarity_fn_name="dot", device=str(model.device))


def idf_weights(tokenizer, texts: list[str]) -> torch.Tensor:
    """BM25's IDF of every vocabulary token over `texts` (a token in no text gets the largest)."""
    import torch

    vocab = len(tokenizer.get_vocab())
    df = torch.zeros(vocab)
    for start in range(0, len(texts), 4096):
        ids = tokenizer(texts[start:start + 4096], add_special_tokens=False, verbose=False)["input_ids"]
        for row in ids:
            df[torch.tensor(sorted(set(row)), dtype=torch.long)] += 1
    n = len(texts)
    return torch.log1p((n - df + 0.5) / (df + 0.5))
