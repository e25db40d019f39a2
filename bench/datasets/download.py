"""Fetch the publishers' files where a public URL exists; print the steps where it does not.

>>> download("wands", Path("datasets/wands"))          # python -m bench data download wands

Each file is written to `.<name>.part` beside its target, resumed with an HTTP Range request
when a partial file is there, checked against the reference size and sha256, then renamed into
place (so an interrupted download never leaves a half file under the real name). urllib only.
Kaggle datasets (homedepot, crowdflower) need an account: `download` says what to run.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from bench.datasets import crowdflower, homedepot
from bench.errors import BenchError
from bench.io import sha256_file

ESCI_MEDIA = "https://media.githubusercontent.com/media/amazon-science/esci-data/main/shopping_queries_dataset"
ESCI_RAW = "https://raw.githubusercontent.com/amazon-science/esci-data/main/shopping_queries_dataset"
WANDS_RAW = "https://raw.githubusercontent.com/wayfair/WANDS/main/dataset"
CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    size: int | None
    sha256: str | None


# Reference sizes and hashes: WANDS from SOURCES.md, ESCI parquet from the Git LFS pointers in
# amazon-science/esci-data (commit 7e0e307), ESCI sources.csv from the file itself (commit 7916cdf).
REMOTE: dict[str, list[RemoteFile]] = {
    "esci": [
        RemoteFile("shopping_queries_dataset_examples.parquet",
                   f"{ESCI_MEDIA}/shopping_queries_dataset_examples.parquet", 51_286_808,
                   "4a735b693b4a424a6fc67f5be6e4c811495c488bbf66d02a602d308b2744263a"),
        RemoteFile("shopping_queries_dataset_products.parquet",
                   f"{ESCI_MEDIA}/shopping_queries_dataset_products.parquet", 1_108_857_465,
                   "25124442d064d64b26f74082d6fa09438d679efc0c183cf28d19064a2b65a265"),
        RemoteFile("shopping_queries_dataset_sources.csv",
                   f"{ESCI_RAW}/shopping_queries_dataset_sources.csv", 1_682_802,
                   "a5fed8ecc016443de40bf3c63098f0e3f23bbe4daa4236f1c38b8c3184778c50"),
    ],
    "wands": [
        RemoteFile("product.csv", f"{WANDS_RAW}/product.csv", 90_621_131,
                   "d993926254572e6eba96c8fd87cc549a17fb91ad3748308036eee4cf92b10ac6"),
        RemoteFile("query.csv", f"{WANDS_RAW}/query.csv", 19_942,
                   "63b61660560fecc33ec490804c7e2b81402ee3e7c31a9cbb5e03736639f68e95"),
        RemoteFile("label.csv", f"{WANDS_RAW}/label.csv", 5_736_234,
                   "c11fe81ad62f17f56f316b0ec9630ebe8fbe1393578cb0ca4f05c17253a180ef"),
    ],
}
KAGGLE_STEPS = {"homedepot": homedepot.HOW_TO_GET, "crowdflower": crowdflower.HOW_TO_GET}


def download(name: str, target_dir: Path, url_base: str | None = None,
             files: list[RemoteFile] | None = None) -> list[Path]:
    """Fetch every file of `name` into `target_dir` (skipping verified ones); return their paths.

    `url_base` replaces the publisher's folder URL (a mirror: `<url_base>/<file name>`).
    """
    if name in KAGGLE_STEPS:  # no public URL: say what to run instead
        print(f"{name} is on Kaggle and needs an account: {KAGGLE_STEPS[name]} ({target_dir})")
        return []
    if files is None and name not in REMOTE:
        raise BenchError(f"unknown dataset {name!r}; downloadable: {', '.join(REMOTE)}")
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for remote in files or REMOTE[name]:
        url = f"{url_base.rstrip('/')}/{remote.name}" if url_base else remote.url
        path = target_dir / remote.name
        if path.is_file() and _matches(path, remote):
            print(f"{path}: already there, checksum ok")
        else:
            fetch(url, path, remote)
        written.append(path)
    return written


def _matches(path: Path, remote: RemoteFile) -> bool:
    if remote.size is not None and path.stat().st_size != remote.size:
        return False
    return remote.sha256 is None or sha256_file(path) == remote.sha256


def fetch(url: str, path: Path, remote: RemoteFile) -> Path:
    """Download `url` to `path` via a resumable `.part` file; verify; rename into place."""
    part = path.with_name(f".{path.name}.part")
    have = part.stat().st_size if part.is_file() else 0
    if remote.size is not None and have > remote.size:
        part.unlink()
        have = 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the part file is already complete
            response = None
        else:
            raise BenchError(f"{url}: HTTP {err.code} {err.reason}; check the URL or --url-base") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise BenchError(f"{url}: cannot connect ({reason}); check the network or use --url-base") from None
    if response is not None:
        with response:
            resumed = response.status == 206
            if not resumed:
                have = 0  # the server ignored Range: start over
            total = remote.size or (have + int(response.headers.get("Content-Length") or 0)) or None
            with open(part, "ab" if resumed else "wb") as out, tqdm(
                total=total, initial=have, unit="B", unit_scale=True, desc=path.name
            ) as bar:
                try:
                    while block := response.read(CHUNK):
                        out.write(block)
                        bar.update(len(block))
                except (http.client.HTTPException, OSError):
                    pass  # a dropped connection: what arrived is kept, and _verify says to resume
    _verify(part, path, url, remote)
    os.replace(part, path)
    print(f"{path}: downloaded, {path.stat().st_size:,} bytes, checksum ok")
    return path


def _verify(part: Path, path: Path, url: str, remote: RemoteFile) -> None:
    size = part.stat().st_size
    if remote.size is not None and size < remote.size:
        raise BenchError(f"{url}: got {size:,} of {remote.size:,} bytes; run the command again to resume")
    digest = sha256_file(part)
    if (remote.size is not None and size != remote.size) or (remote.sha256 and digest != remote.sha256):
        part.unlink()
        raise BenchError(
            f"{url}: checksum mismatch for {path.name} (sha256 {digest[:16]}..., {size:,} bytes; "
            f"expected {(remote.sha256 or '?')[:16]}..., {remote.size or '?'} bytes); the partial file was "
            "deleted: run again, or check that --url-base serves the publisher's files"
        )
