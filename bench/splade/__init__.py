"""SPLADE model pieces that encoding and training share, each on a stock sentence-transformers model.

- `pooling`: max-first SpladePooling, the same vectors and gradients at a fraction of the work;
- `vocabulary`: the MLM head over the training wordpieces only (training), and over the rows
  that can activate only (encoding a model trained that way);
- `inference_free`: the Router of inference-free SPLADE (static query weights, SPLADE documents).

Nothing here trains or benchmarks: bench/training/ and bench/encoders.py compose these pieces.
"""
