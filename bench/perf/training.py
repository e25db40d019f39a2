"""The trainer's step time and the encoding of a `--vocabulary data` model, each beside its alternatives.

>>> training_step(ctx)        # stock sentence-transformers | --vocabulary full | --vocabulary data
>>> vocabulary_encoding(ctx, sample, 256)  # a --vocabulary data model: live rows | full head | stock

One batch as `bench train` builds it for `run --all`: 64 queries of the dataset's train split and
the best graded product of each, 32 tokens, frozen vocabulary, the trainer's SpladeLoss and an AdamW
step (tokenisation outside the timing). The training vocabulary is every wordpiece of the train
split's queries and products, what a training on this dataset restricts the head to. Each path is
warmed up by one step, then the paths are timed in turn (A, B, C, A, ...) and each one's fastest
step kept. Timing only: the weights these steps change are thrown away.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from bench.perf.context import Session, SizeContext, TrainingBatch
from bench.perf.measure import Measurement

if TYPE_CHECKING:
    from sentence_transformers import SparseEncoder

TRAINING = "training step"
TRAIN_PHASE = "train step"
TRAIN_DATA = "bench train --vocabulary data (default)"
TRAIN_FULL = "bench train --vocabulary full (max-first pooling)"
TRAIN_STOCK = "stock sentence-transformers (SpladePooling, full head)"
VOCABULARY_ENCODING = "encoding: splade, --vocabulary data model"
ENCODE_LIVE = "adapter head: live rows only"
ENCODE_FULL_HEAD = "max-first pooling, full head"
ENCODE_STOCK = "sentence-transformers encode_document"
BATCH = 64
TOKENS = 32


def training_batch(session: Session) -> TrainingBatch:
    """The dataset's train-split batch and vocabulary (built once per perf run, untimed)."""
    if session.training_batch is None:
        from bench.datasets import load
        from bench.encoders import load_sparse
        from bench.splade.vocabulary import training_vocabulary

        split = load(session.options.dataset, split="train", data_dir=session.options.data_dir,
                     seed=session.options.seed)
        qids = list(split.queries)[:BATCH]
        best = [max(sorted(split.relevant(q)), key=lambda d, q=q: split.qrels[q][d]) for q in qids]  # type: ignore[misc]
        texts = [*split.queries.values(), *dict.fromkeys(doc.contents for doc in split.corpus.values())]
        session.training_batch = TrainingBatch(
            [split.queries[q] for q in qids], [split.corpus[d].contents for d in best],
            training_vocabulary(load_sparse(None).tokenizer, texts),
        )
    return session.training_batch


def trainer_model(path: str) -> SparseEncoder:
    from bench.encoders import load_sparse
    from bench.splade.pooling import use_max_first_pooling
    from bench.training.trainer import freeze_vocabulary

    model = load_sparse(None)
    if path != TRAIN_STOCK:
        use_max_first_pooling(model)
    freeze_vocabulary(model)
    model.max_seq_length = TOKENS
    return model.train()


def step_of(model: SparseEncoder, batch: TrainingBatch):
    """One optimiser step of the trainer's loss on the batch, as a call."""
    from bench.training.defaults import CPU_DEFAULT_LR
    from bench.training.recipe import splade_loss

    loss = splade_loss(model, 5e-5, 3e-5)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=CPU_DEFAULT_LR)
    features = [model.preprocess(batch.queries), model.preprocess(batch.products)]

    def step() -> None:
        optimizer.zero_grad()
        # fresh dicts: modules write their outputs into the features, as into a new batch's
        sum(loss([dict(f) for f in features], None).values()).backward()
        optimizer.step()

    return step


def training_step(ctx: SizeContext) -> None:
    """Seconds per training step: our default trainer, `--vocabulary full`, stock sentence-transformers.

    Timed once per perf run (at the first size): a step does not depend on the corpus."""
    from bench.splade.vocabulary import output_layer, restricted_vocabulary

    recorder = ctx.session.recorder
    if any(record.step == TRAINING for record in recorder.measurements):
        return
    batch = training_batch(ctx.session)
    texts = 2 * BATCH
    jobs = []
    with contextlib.ExitStack() as stack:
        for path in (TRAIN_DATA, TRAIN_FULL, TRAIN_STOCK):
            model = trainer_model(path)
            if path == TRAIN_DATA:
                stack.enter_context(restricted_vocabulary(model, batch.vocabulary))
            step = step_of(model, batch)
            step()  # warm-up: the first step allocates the optimiser state
            record = Measurement(TRAINING, path, TRAIN_PHASE, texts, texts, ours=path == TRAIN_DATA)
            jobs.append((record, step))
        records = recorder.turn_about(ctx.options.train_repeats, jobs)
    rows = output_layer(model).out_features
    records[0].extra["note"] = (f"head over {len(batch.vocabulary):,} of {rows:,} rows; batch {BATCH} "
                                f"queries + {BATCH} products, {TOKENS} tokens, frozen vocabulary")


def vocabulary_encoding(ctx: SizeContext, sample: list[str], max_seq_length: int) -> None:
    """Documents/s of a `--vocabulary data` model: the adapter's live-row head vs the full head.

    The model is SPLADE-tiny with every row outside the train split's vocabulary silenced, the
    head `bench train --vocabulary data` saves; the three paths give the same vectors."""
    from bench.encoders import load_sparse
    from bench.splade.pooling import use_max_first_pooling
    from bench.splade.vocabulary import output_layer, silence_outside, use_live_rows

    batch = training_batch(ctx.session)
    models = {path: load_sparse(None) for path in (ENCODE_LIVE, ENCODE_FULL_HEAD, ENCODE_STOCK)}
    for model in models.values():
        silence_outside(model, batch.vocabulary)
        model.max_seq_length = max_seq_length
    use_live_rows(use_max_first_pooling(models[ENCODE_LIVE]))
    use_max_first_pooling(models[ENCODE_FULL_HEAD])
    options: dict[str, Any] = {"batch_size": ctx.options.batch_size, "convert_to_sparse_tensor": False}
    # warm-up, and the vectors compared
    vectors = {path: model.encode_document(sample[: ctx.options.batch_size], **options)
               for path, model in models.items()}
    jobs: list[tuple[Measurement, Callable[[], Any]]] = [
        (Measurement(VOCABULARY_ENCODING, path, "encode documents", len(sample), len(sample),
                     ours=path == ENCODE_LIVE),
         lambda model=model: model.encode_document(sample, **options))  # type: ignore[misc]
        for path, model in models.items()]
    records = ctx.session.recorder.turn_about(ctx.options.encode_repeats, jobs)
    stock = vectors[ENCODE_STOCK]
    for record in records:
        record.extra["max_abs_difference_vs_stock"] = float((vectors[record.path] - stock).abs().max())
    rows = output_layer(models[ENCODE_STOCK]).out_features
    records[0].extra["note"] = (f"{len(batch.vocabulary):,} live rows of {rows:,}; vectors compared on the "
                                f"first {len(vectors[ENCODE_STOCK])} documents")
