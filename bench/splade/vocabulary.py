"""SPLADE over the wordpieces of the training texts: the MLM head scores those rows only.

>>> ids = training_vocabulary(model.tokenizer, texts)   # sorted token ids (Home Depot: ~10k of 30,522)
>>> with restricted_vocabulary(model, ids):             # logits, pooling, loss and FLOPS over `ids` only
...     trainer.train()
>>> silence_outside(model, ids)                         # the saved model never activates the other rows
>>> use_live_rows(SparseEncoder("models/splade-finetuned"))   # encoding scores the live rows only

SPLADE-tiny's MLM head projects every token onto all 30,522 vocabulary rows, ~90% of a training
step on CPU, and every elementwise op and the max pooling sweep that (batch, tokens, 30,522)
tensor. Inside `restricted_vocabulary` the head's own decoder (an `nn.Linear`, the same instance)
computes `F.linear(hidden, weight[ids], bias[ids])`, gathering rows from its own Parameters: the
embedding tie is never broken, gradients reach exactly the rows a full head would update through
those logits, and there is nothing to copy back. Vectors have len(ids) columns while training
(an inference-free query side is cut to the same columns); the step equals a full-head step whose
other logits are masked to a value relu kills (tests/test_vocabulary.py checks loss and gradients).

Rows outside the training vocabulary get no gradient and no regulariser while training, yet the
transformer under them changes, so left alone they would wake up in the saved model and make its
vectors denser than anything training saw. Decision: `silence_outside` sets their decoder bias to
`NEVER` (-1e4). The head's input is a LayerNorm output, so |w_i . h| <= |w_i| (max|gamma| sqrt(d) +
|beta|), about 90 for SPLADE-tiny: such a row's logit is always negative and relu zeroes it. The saved
model is a stock SparseEncoder with the full 30,522-row head that is exactly as sparse as the
restricted one, and `use_live_rows` finds those rows by the same bound (no marker file needed),
scores the others only and scatters them back into full-width vectors: identical vectors, less work.

Measured on 2 CPU cores (idle), `bench train --dataset homedepot --max-pairs 2048 --batch-size 64
--lr 3e-4 --max-seq-length 32 --freeze-vocabulary --pairs per-query` (32 steps, 7,299 of 30,522
rows): wall time full 43.6 / 43.3 s, data 23.3 / 22.5 s (1.9x; trainer 25.5 -> 9.0 s, 2.8x); dev
report (200 dev queries, 2,274 products) active dims query / document full 18.1 / 70.1, data
14.8 / 61.4: no denser than `--vocabulary full`; nDCG@10 0.630 vs 0.629. `python -m bench perf`:
a step 0.69 s (full) / 0.81 s (stock sentence-transformers) -> 0.30 s; encoding such a model
305 -> 660 documents/s.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import types
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import BenchError
from bench.splade.inference_free import document_modules

if TYPE_CHECKING:
    from sentence_transformers import SparseEncoder

NEVER = -1e4
"""Decoder bias of a row outside the training vocabulary: far below any reachable w . h (~90)."""
MARGIN = 1.0
"""A row counts as dead when its logit bound stays this far below 0 (float error is ~1e-3 here)."""


def training_vocabulary(tokenizer, texts: Iterable[str]) -> torch.Tensor:
    """Sorted ids of every token the model reads in `texts`: whole texts, [CLS] and [SEP] included.

    Whole texts, not the training length: the saved model reads longer texts when it indexes
    (CrowdFlower descriptions), and their words stay live if training saw them anywhere."""
    texts = list(texts)
    found = [np.empty(0, dtype=np.int64)]
    for start in range(0, len(texts), 4096):
        rows = tokenizer(texts[start:start + 4096], return_attention_mask=False,
                         return_token_type_ids=False, verbose=False)["input_ids"]
        found.append(np.unique(np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)))
    return torch.from_numpy(np.unique(np.concatenate(found)))


def output_layer(model: SparseEncoder) -> nn.Linear:
    """The MLM decoder of the document transformer: a Linear with a bias, tied to the embeddings."""
    decoder = document_modules(model)[0].auto_model.get_output_embeddings()
    if not isinstance(decoder, nn.Linear) or decoder.bias is None:
        raise BenchError(
            f"--vocabulary data needs an MLM head ending in a Linear layer with a bias, not "
            f"{type(decoder).__name__}; pass --vocabulary full"
        )
    return decoder


# ---------------------------------------------------------------- scoring some rows only


def _rows_forward(self: nn.Linear, hidden: torch.Tensor) -> torch.Tensor:
    return F.linear(hidden, self.weight[self.kept_rows], self.bias[self.kept_rows])


def _columns_forward(self: nn.Module, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    features = type(self).forward(self, features)
    features["sentence_embedding"] = features["sentence_embedding"][:, self.kept_rows]
    return features


def _keep(module: nn.Module, forward, rows: torch.Tensor) -> None:
    # a non-persistent buffer follows the model across devices and never reaches a saved file;
    # the instance's forward shadows the class's, so the module and its state dict stay stock
    module.register_buffer("kept_rows", rows.to(next(module.parameters()).device), persistent=False)
    module.forward = types.MethodType(forward, module)


def _unkeep(module: nn.Module) -> None:
    del module.forward, module.kept_rows


def query_outputs(model: SparseEncoder) -> list[nn.Module]:
    """The last module of every Router route but documents' (an inference-free query side)."""
    from sentence_transformers.sparse_encoder.modules import Router

    if not isinstance(model[0], Router):
        return []
    return [list(route)[-1] for name, route in model[0].sub_modules.items() if name != "document"]


@contextlib.contextmanager
def restricted_vocabulary(model: SparseEncoder, ids: torch.Tensor) -> Iterator[None]:
    """Inside the block the document head scores rows `ids` only and every vector has len(ids) columns.

    On exit the stock forwards are back; checkpoints saved inside the block are stock files too."""
    decoder = output_layer(model)
    pooling = document_modules(model)[-1]
    # max-first pooling would record the pooled width (len(ids)) as the model's dimension
    pooling.embedding_dimension = decoder.out_features
    queries = query_outputs(model)
    _keep(decoder, _rows_forward, ids)
    for module in queries:
        _keep(module, _columns_forward, ids)
    try:
        yield
    finally:
        for module in [decoder, *queries]:
            _unkeep(module)


def silence_outside(model: SparseEncoder, ids: torch.Tensor) -> int:
    """Set the decoder bias of every row not in `ids` to NEVER, and an inference-free query weight
    there to 0 (no document has that dimension any more); returns how many rows that is."""
    decoder = output_layer(model)
    outside = torch.ones(decoder.out_features, dtype=torch.bool)
    outside[ids] = False
    with torch.no_grad():  # the decoder's bias is the head's own bias Parameter (tied)
        decoder.bias[outside.to(decoder.bias.device)] = NEVER
        for module in query_outputs(model):
            weight = getattr(module, "weight", None)
            if isinstance(weight, torch.Tensor) and weight.shape == (decoder.out_features,):
                weight[outside.to(weight.device)] = 0
    return int(outside.sum())


# ---------------------------------------------------------------- encoding


def live_rows(model: SparseEncoder) -> torch.Tensor | None:
    """Rows of a BERT-style MLM head whose logit can be positive for some input (None: another head).

    The decoder reads h = LayerNorm(x) = gamma * xhat + beta with |xhat| <= sqrt(d), so
    |h| <= max|gamma| sqrt(d) + |beta| and logit_i = w_i . h + b_i <= |w_i| |h| + b_i."""
    mlm = document_modules(model)[0].auto_model
    head = getattr(getattr(mlm, "cls", None), "predictions", None)
    norm = getattr(getattr(head, "transform", None), "LayerNorm", None)
    decoder = getattr(head, "decoder", None)
    if not isinstance(norm, nn.LayerNorm) or not isinstance(decoder, nn.Linear) or decoder.bias is None:
        return None
    with torch.no_grad():
        gamma = norm.weight.abs().max() if norm.weight is not None else 1.0
        beta = norm.bias.norm() if norm.bias is not None else 0.0
        reach = gamma * math.sqrt(norm.normalized_shape[-1]) + beta
        bound = decoder.weight.norm(dim=1) * reach + decoder.bias
    return torch.nonzero(bound > -MARGIN).flatten()


def use_live_rows(model: SparseEncoder) -> SparseEncoder:
    """Encode with the head rows that can activate only, scattered back to full width (in place).

    A model saved by `bench train --vocabulary data` has about half its rows live (the default
    splade-finetuned: 16,924 of 30,522); a stock model keeps its stock head. Vectors are those of
    the full head: the skipped rows are 0 there as well."""
    from sentence_transformers.sparse_encoder.modules import SpladePooling

    from bench.splade.pooling import use_max_first_pooling

    rows = live_rows(model)
    pooling = document_modules(model)[-1]
    decoder = document_modules(model)[0].auto_model.get_output_embeddings()
    if rows is None or len(rows) == decoder.out_features or not isinstance(pooling, SpladePooling):
        return model
    use_max_first_pooling(model)  # its forward scatters the pooled live rows back (`live_rows`)
    pooling.embedding_dimension = decoder.out_features
    pooling.register_buffer("live_rows", rows.to(decoder.weight.device), persistent=False)
    _keep(decoder, _rows_forward, rows)
    return model
