"""Fine-tune a SPLADE model on the TRAIN split of one or more datasets (`python -m bench train`).

>>> python -m bench train --dataset homedepot --output models/splade-ft-homedepot
>>> python -m bench train --dataset homedepot,crowdflower --max-pairs 12000 --hard-negatives bm25
>>> from sentence_transformers import SparseEncoder; SparseEncoder("models/splade-ft-homedepot")

Recipe (Qdrant's SPLADE fine-tuning recipe, sentence-transformers' own pieces):
SparseEncoderTrainer + SpladeLoss(SparseMultipleNegativesRankingLoss) with FLOPS regularisers
(query 5e-5, document 3e-5), batch 32, no-duplicates sampler (in-batch negatives must not be
copies of the positive), 1 epoch. Positives are the products graded >= the dataset's
`relevant_grade` for a train query. `--vocabulary data` (default) runs the MLM head, pooling,
loss and regularisers over the wordpieces of the training texts only, and silences the other
rows in the saved model (bench/splade/vocabulary.py: ~2.5x faster steps on CPU, a stock SparseEncoder).

After training, SparseInformationRetrievalEvaluator scores the dev split of each training dataset
(held-out train-pool queries, disjoint from train and test): up to `dev_queries` queries, their
judged products and `dev_distractors` other products of that dev corpus (in the model card).

Hard negatives: `bm25` mines them with the project's BM25 (in a temporary Qdrant Edge folder) over
the products judged for the training queries; `self` trains, then retrieves the top 20 with the model
itself, drops known positives, keeps 3 per query and trains again (ANCE-style, `--rounds N`).
Each training row gets one of its query's negatives (round-robin), so a row stays a triplet.

The model is trained in `DIR.partial/` (checkpoints there) and renamed to `DIR` only when it is
complete, with a model card (README.md), `train_log.jsonl` and `bench_model.json`; `--resume`
continues from the last checkpoint in `DIR.partial/`.

The rooms: config.py (TrainConfig), data.py (pairs and dev slice), negatives.py, recipe.py
(sentence-transformers' loss, arguments and evaluator), trainer.py (`train`), card.py (the model
card), defaults.py (what `run --all` trains). The model pieces it shares with encoding
(pooling, vocabulary, inference-free) are in bench/splade/; model names and directories in
bench/models.py.
"""

from bench.training.config import TrainConfig
from bench.training.defaults import ensure_default_model
from bench.training.trainer import train

__all__ = ["TrainConfig", "ensure_default_model", "train"]
