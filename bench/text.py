"""The one tokenizer of every lexical retriever (bm25, bm25-rank, bm25s), so they compare fairly.

>>> tokenize("Delta Vero 1-Handle Shower Faucet in Chrome (3/4 in. x 8 ft.)")
['delta', 'vero', '1', 'handl', 'shower', 'faucet', 'chrome', '3', '4', 'x', '8', 'ft']

Choices, kept simple on purpose (product titles are short and full of numbers and units):

- lowercase, then a token is a run of letters or a run of digits: every other character
  splits, and so does a letter/digit boundary, so "SC-141", "sc141" and "SC 141" all give
  ["sc", "141"] and "5gal" matches "5 gal". "1/2 in." gives ["1", "2"]; decimals split too
  ("1.9 cu. ft." -> ["1", "9", "cu", "ft"]).
- drop Lucene's 33-word English stopword list (`STOPWORDS`). It holds "in", so the unit
  "in." is dropped as well: it is on nearly every product and carries almost no IDF.
- Snowball English stemming (PyStemmer, a C wheel) of letter tokens: "chairs" -> "chair",
  "lighting" -> "light". Digits are never stemmed.

Changing any of this changes `TOKENIZER_VERSION`, which is part of every BM25 cache key.
"""

from __future__ import annotations

import re

import Stemmer

TOKENIZER_VERSION = "1"

# fmt: off
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
})
# fmt: on

_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_STEMMER = Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lowercased letter/digit runs, stopwords removed, stemmed (see the module docstring)."""
    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS]
    return _STEMMER.stemWords(words)
