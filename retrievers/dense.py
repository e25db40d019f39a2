"""Dense retrieval: a sentence-transformers bi-encoder, cosine similarity in Qdrant.

>>> retriever = Dense(Settings(engine=open_engine(None, Path(".cache/bench"))))   # all-MiniLM-L6-v2
>>> retriever.index(dataset.corpus)
>>> run = retriever.search(dataset.queries, k=100)

Any sentence-transformers model works: `Settings(model="BAAI/bge-small-en-v1.5")` or a directory.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bench.encoders import EncoderRetriever, Kind, dense_rows
from bench.engine import Vector, VectorField


class Dense(EncoderRetriever):
    name = "dense"
    kind: ClassVar[Kind] = "dense"

    @property
    def field(self) -> VectorField:
        return VectorField(
            self.name, kind="dense", size=self.model.get_embedding_dimension(), distance="cosine"
        )

    def encode_raw_documents(self, texts: list[str]) -> list[Vector]:
        batch_size = self.settings.batch_size
        return dense_rows(self.model.encode_document(texts, batch_size=batch_size, convert_to_numpy=True))

    def encode_queries(self, texts: list[str]) -> list[Vector]:
        embeddings = self.model.encode_query(
            texts,
            batch_size=self.settings.batch_size,
            convert_to_numpy=True,
            show_progress_bar=len(texts) > 256,
        )
        return dense_rows(embeddings)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "dimensions": self.field.size, "distance": "cosine"}
