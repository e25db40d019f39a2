"""The names of the measured paths, as the perf tables show them; ours first in each step.

>>> from bench.perf import path_names
>>> path_names.BM25_ENGINE, path_names.BM25_OKAPI                  # a step's own path, then an alternative
('bm25 adapter (Qdrant Edge)', 'rank-bm25 BM25Okapi.get_scores (stock)')

The steps record under these names (bench/perf/lexical.py, encoding.py, search.py) and the report
(bench/perf/report.py) finds the product targets' measurements by them. The training step's
names are in bench/perf/training.py, beside it.
"""

# ours first in each step: the reference of its ratios
BM25_ENGINE = "bm25 adapter (Qdrant Edge)"
BM25_RANK = "bm25-rank adapter (rank-bm25 + postings)"
BM25_OKAPI = "rank-bm25 BM25Okapi.get_scores (stock)"
BM25S = "bm25s (same tokenizer, k1, b)"
BM25S_THREADS = "bm25s, n_threads=-1"
BM25_RAW = "raw Qdrant Edge query_batch (queries pre-tokenized)"
SPARSE_ADAPTER = "splade adapter (Qdrant Edge)"
SPARSE_RAW = "raw Qdrant Edge query_batch"
SPARSE_CLIENT = "qdrant-client local mode"
SPARSE_SCIPY = "scipy CSR dot product (exact)"
ENCODE_COLD = "adapter, empty cache"
ENCODE_CACHED = "adapter, cached"
ENCODE_QUERIES = "adapter encode_queries"
ENCODE_RAW_DOCS = "sentence-transformers encode_document"
ENCODE_RAW_QUERIES = "sentence-transformers encode_query"
DENSE_ADAPTER = "dense adapter (Qdrant Edge, default index)"
DENSE_EXACT = "raw Qdrant Edge, exact=True"
DENSE_HNSW = "raw Qdrant Edge, default index"
DENSE_NUMPY = "numpy brute force (exact)"
HYBRID_FUSED = "adapter: two Qdrant queries + RRF in Python"
HYBRID_RANX = "two Qdrant queries + ranx fuse"
ENCODERS = ("splade", "dense")
