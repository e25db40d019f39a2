"""`python -m bench train`: fine-tune SPLADE on the TRAIN split of one or more datasets.

>>> python -m bench train --dataset homedepot --output models/splade-ft-homedepot
>>> python -m bench train --dataset homedepot,crowdflower --max-pairs 12000 --hard-negatives bm25
>>> python -m bench train --architecture inference-free --dataset homedepot,crowdflower --output models/x

The recipe and what each option changes: bench/training/ (its package docstring).
"""

from __future__ import annotations

import argparse

from bench.commands.checks import at_least, non_negative_float, positive_float, writable_dir
from bench.commands.options import add_data_dir
from bench.errors import BenchError
from bench.models import MODELS_DIR


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="fine-tune SPLADE on the train split of datasets")
    parser.add_argument("--dataset", required=True, metavar="NAME[,NAME...]",
                        help="dataset(s) whose TRAIN split gives the pairs; several = multi-domain")
    parser.add_argument("--base", default=None,
                        help="starting model: MLM or SparseEncoder name/dir (default: SPLADE-tiny, offline)")
    parser.add_argument("--output", type=writable_dir, default=None,
                        help="model directory (default models/splade-ft-<names>)")
    parser.add_argument("--max-pairs", type=at_least(1), default=None,
                        help="cap on pairs, split evenly over datasets")
    parser.add_argument("--epochs", type=positive_float, default=1.0)
    # in-batch negatives need at least one other pair in the batch
    parser.add_argument("--batch-size", type=at_least(2), default=32)
    parser.add_argument("--lr", type=positive_float, default=2e-5)
    parser.add_argument("--query-reg", type=non_negative_float, default=5e-5, help="FLOPS weight on queries")
    parser.add_argument("--doc-reg", type=non_negative_float, default=3e-5, help="FLOPS weight on documents")
    parser.add_argument("--doc-reg-threshold", type=at_least(0), default=None, metavar="N",
                        help="regularise only documents with more than N active dims (FlopsLoss threshold)")
    parser.add_argument("--pairs", choices=["all", "per-query"], default="all",
                        help="all (query, relevant product) pairs, or one per query per pass")
    parser.add_argument("--hard-negatives", choices=["none", "bm25", "self", "judged"], default="none",
                        help="mined products never include one judged for the query; judged = a product "
                        "graded irrelevant for the query (BM25-mined where it has none)")
    parser.add_argument("--architecture", choices=["splade", "inference-free"], default="splade",
                        help="inference-free: queries get one trained weight per token (no transformer), "
                        "documents SPLADE")
    parser.add_argument("--lr-scheduler", default="linear",
                        help="learning-rate schedule after warm-up: linear, cosine, constant_with_warmup")
    parser.add_argument("--freeze-vocabulary", action="store_true",
                        help="keep the token embeddings and the tied MLM output layer fixed (faster steps)")
    parser.add_argument("--vocabulary", choices=["data", "full"], default="data",
                        help="data: the MLM head scores only the wordpieces of the training texts (about 2x "
                        "faster steps; the other rows never activate in the saved model); full: all rows")
    parser.add_argument("--rounds", type=at_least(1), default=1,
                        help="training rounds with --hard-negatives self")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--seed", type=at_least(0), default=42)
    parser.add_argument("--max-seq-length", type=at_least(1, 8192), default=64,
                        help="tokens per text while training")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the last checkpoint in DIR.partial")
    add_data_dir(parser)
    parser.add_argument("--max-steps", type=at_least(1), default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from bench.datasets import resolve
    from bench.training import TrainConfig, train

    names = [n.strip() for n in args.dataset.split(",") if n.strip()]
    if not names:
        raise BenchError("--dataset is empty; name a dataset or a folder, e.g. --dataset homedepot")
    found = [resolve(name, args.data_dir) for name in names]  # a name, a plug-in or a folder path
    output = args.output or MODELS_DIR / f"splade-ft-{'-'.join(f.name for f in found)}"
    train(TrainConfig(
        datasets=names, output=output, base=args.base, max_pairs=args.max_pairs, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, query_reg=args.query_reg, doc_reg=args.doc_reg,
        pairs=args.pairs, architecture=args.architecture, hard_negatives=args.hard_negatives,
        lr_scheduler=args.lr_scheduler, rounds=args.rounds, device=args.device, seed=args.seed,
        resume=args.resume, data_dir=args.data_dir, max_steps=args.max_steps,
        max_seq_length=args.max_seq_length, freeze_vocabulary=args.freeze_vocabulary,
        vocabulary=args.vocabulary, doc_reg_threshold=args.doc_reg_threshold,
    ))
    return 0
