"""`data download` against a local HTTP server on 127.0.0.1 (no internet): fetch, resume, checksum."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.datasets.download import REMOTE, RemoteFile, download
from bench.errors import BenchError

ROWS = b"".join(f"{i}\tquery {i}\tclass\n".encode() for i in range(5000))
PAYLOAD = b"query_id\tquery\tquery_class\n" + ROWS


class Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    ranges: list[str]
    cut_after: int | None  # send only this many bytes, then close (an interrupted download)
    ignore_range: bool  # answer 200 with the whole file, as servers without Range support do


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: Server = self.server  # type: ignore[assignment]
        body = server.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        start, status = 0, 200
        header = self.headers.get("Range")
        if header and not server.ignore_range:
            server.ranges.append(header)
            start, status = int(re.match(r"bytes=(\d+)-", header).group(1)), 206
        chunk = body[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(chunk)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()
        if server.cut_after is not None:
            chunk, server.cut_after = chunk[: server.cut_after], None
        self.wfile.write(chunk)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.files, httpd.ranges, httpd.cut_after, httpd.ignore_range = {"query.csv": PAYLOAD}, [], None, False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def base(server: Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def remote(payload: bytes = PAYLOAD) -> list[RemoteFile]:
    return [RemoteFile("query.csv", "unused", len(payload), hashlib.sha256(payload).hexdigest())]


def test_download_verifies_and_writes(server, tmp_path):
    [path] = download("wands", tmp_path, url_base=base(server), files=remote())
    assert path.read_bytes() == PAYLOAD and not list(tmp_path.glob(".*.part"))
    server.files.clear()  # a second call finds the verified file and fetches nothing
    assert download("wands", tmp_path, url_base=base(server), files=remote()) == [path]


def test_interrupted_download_resumes_with_range(server, tmp_path):
    server.cut_after = 10_000
    with pytest.raises(BenchError, match="run the command again to resume"):
        download("wands", tmp_path, url_base=base(server), files=remote())
    assert not (tmp_path / "query.csv").exists()  # only the .part file, never a half file
    assert (tmp_path / ".query.csv.part").stat().st_size == 10_000
    [path] = download("wands", tmp_path, url_base=base(server), files=remote())
    assert server.ranges == ["bytes=10000-"]
    assert path.read_bytes() == PAYLOAD


def test_server_without_range_support_restarts_cleanly(server, tmp_path):
    (tmp_path / ".query.csv.part").write_bytes(PAYLOAD[:777])
    server.ignore_range = True
    [path] = download("wands", tmp_path, url_base=base(server), files=remote())
    assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_is_one_line_and_leaves_nothing(server, tmp_path):
    server.files["query.csv"] = PAYLOAD.replace(b"query 7\t", b"query X\t")
    with pytest.raises(BenchError, match=r"checksum mismatch for query\.csv") as caught:
        download("wands", tmp_path, url_base=base(server), files=remote())
    assert "\n" not in str(caught.value)
    assert not list(tmp_path.iterdir())


def test_http_error_and_kaggle_steps(server, tmp_path, capsys):
    with pytest.raises(BenchError, match="HTTP 404"):
        download("wands", tmp_path, url_base=base(server), files=[RemoteFile("label.csv", "", None, None)])
    assert download("homedepot", tmp_path) == []
    assert "kaggle competitions download -c home-depot-product-search-relevance" in capsys.readouterr().out


def test_reference_files_are_complete():
    for name, files in REMOTE.items():
        assert files and all(f.size and f.sha256 and len(f.sha256) == 64 for f in files), name
    wands_query = next(f for f in REMOTE["wands"] if f.name == "query.csv")
    shipped = Path(__file__).resolve().parents[1] / "datasets" / "wands" / "query.csv"
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == wands_query.sha256
