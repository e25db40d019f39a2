"""results/index.html from a real stored run, opened in headless Chromium: sorting, hover notes, no errors.

The browser is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages ending in a NUL byte on file descriptors 3 and 4), so no extra package is needed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.cli import main
from bench.leaderboard.page import SCREENSHOT_SIZE, find_browser

pytestmark = pytest.mark.slow  # encodes ESCI's 658 products with SPLADE-tiny once for the module
BROWSER = find_browser()
needs_browser = pytest.mark.skipif(
    BROWSER is None, reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)"
)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`bench run` of three real retrievers and bm25's twin on 80 ESCI test queries, then the leaderboard."""
    out = tmp_path_factory.mktemp("results")
    cache = tmp_path_factory.mktemp("cache")
    assert main(["run", "-r", "bm25", "-r", "bm25-rank", "-r", "splade", "-r", "hybrid:bm25+splade",
                 "-d", "esci", "--limit-queries", "80", "--latency-queries", "5", "--out", str(out),
                 "--cache-dir", str(cache)]) == 0
    (out / "index.html").unlink()
    assert main(["leaderboard", "--out", str(out)]) == 0
    return out


def test_the_page_is_one_self_contained_file(published: Path) -> None:
    page = (published / "index.html").read_text()
    assert "<script src" not in page and "<link rel=\"stylesheet\"" not in page and "@import" not in page
    sources = re.findall(r'\ssrc="([^"]*)"', page)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)  # both plots
    assert base64.b64decode(sources[0].split(",", 1)[1]).startswith(b"\x89PNG")
    assert "Quick runs (not the protocol)" in page and "q80-seed42-k100" in page
    for part in ("Δ nDCG@10 vs bm25 [95% CI]", "W/T/L vs bm25", "Judged@10", "nDCG@10 cond.", "Load s",
                 "Cross-domain", "Protocol", "<strong>Machine</strong>: ", "GPU: ",
                 "<strong>Checks</strong> (second implementations", "<code>bm25-rank</code> agrees with"):
        assert part in page
    assert page.count('<table class="sortable">') == 3  # the quick run, its all-pairs table, Qdrant's numbers


class Chromium:
    """Headless Chromium and one page of it, spoken to over the DevTools protocol on a pipe."""

    def __init__(self, browser: str, profile: str) -> None:
        to_browser, self.writer = os.pipe()
        self.reader, from_browser = os.pipe()

        def wire() -> None:  # in the child: the protocol's fixed descriptors 3 (commands) and 4 (replies)
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        command = [browser, "--headless", "--remote-debugging-pipe", "--disable-gpu", "--no-first-run",
                   "--hide-scrollbars", f"--user-data-dir={profile}", "about:blank"]
        if os.geteuid() == 0:
            command.insert(2, "--no-sandbox")
        self.process = subprocess.Popen(command, pass_fds=(3, 4), preexec_fn=wire,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self.buffer = b""
        self.last_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, page: bool = True) -> dict[str, Any]:
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params or {}}
        if page and self.session:
            message["sessionId"] = self.session
        os.write(self.writer, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self.last_id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)

    def receive(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.reader], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, "Chromium did not answer within 60 s"
            chunk = os.read(self.reader, 1 << 20)
            assert chunk, "Chromium closed the pipe"
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_for(self, method: str) -> dict[str, Any]:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self.receive()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def open(self, url: str, width: int = 1400, height: int = 1000) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 page=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) in the middle of the element, as a user does it."""
        box = self.evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            e.scrollIntoView({{block: "center"}}); const r = e.getBoundingClientRect();
            return {{x: r.x + r.width / 2, y: r.y + r.height / 2}}; }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1})

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors seen so far."""
        self.evaluate("1")  # let queued events arrive
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(json.dumps(params.get("args"))[:300])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(params["entry"].get("text", "")[:300])
        return found

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.send("Browser.close", page=False)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.writer)
        os.close(self.reader)


@pytest.fixture
def browser() -> Iterator[Chromium]:
    assert BROWSER is not None
    with tempfile.TemporaryDirectory() as profile:
        chromium = Chromium(BROWSER, profile)
        try:
            yield chromium
        finally:
            chromium.close()


TABLE = "#esci--q80-seed42-k100 table"
COLUMN = """(name => {{
    const table = document.querySelector("{table}");
    const index = Array.from(table.tHead.rows[0].cells).findIndex(th => th.textContent.trim() === name);
    return Array.from(table.tBodies[0].rows).map(row => [row.cells[1].textContent.trim(),
        row.cells[index].getAttribute("data-sort") ?? row.cells[index].textContent.trim()]);
}})({name})"""


def column(chromium: Chromium, name: str) -> list[tuple[str, str]]:
    return [tuple(pair) for pair in chromium.evaluate(COLUMN.format(table=TABLE, name=json.dumps(name)))]


def header(name: str) -> str:
    index = ["", "Retriever", "Queries", "nDCG@10", "MRR@10", "Recall@10", "Recall@100", "MAP@100", "P@10",
             "Judged@10", "nDCG@10 cond.", "Δ nDCG@10 vs bm25 [95% CI]", "p vs bm25", "W/T/L vs bm25",
             "p50 ms", "p95 ms", "QPS"].index(name)
    return f"{TABLE} thead th:nth-child({index + 1})"


@needs_browser
def test_headless_chromium_sorts_the_table_by_a_clicked_header(
    published: Path, browser: Chromium, tmp_path: Path
) -> None:
    browser.open((published / "index.html").resolve().as_uri())
    assert browser.evaluate("document.title") == "E-commerce retrieval leaderboard"

    initial = column(browser, "nDCG@10")  # the page lists rows best first; the twin is a check, not a row
    assert {name for name, _ in initial} == {"splade", "bm25", "hybrid:bm25+splade"}
    assert [float(v) for _, v in initial] == sorted((float(v) for _, v in initial), reverse=True)

    browser.click(header("p50 ms"))  # numbers: high to low first
    latencies = column(browser, "p50 ms")
    assert [float(v) for _, v in latencies] == sorted((float(v) for _, v in latencies), reverse=True)
    assert browser.evaluate(f'document.querySelector("{header("p50 ms")}").getAttribute("aria-sort")') \
        == "descending"
    assert latencies[0][0] in {"splade", "hybrid:bm25+splade"}  # a neural encoder is the slowest per query
    browser.click(header("p50 ms"))  # again: reversed
    assert column(browser, "p50 ms") == latencies[::-1]

    browser.click(header("Retriever"))  # text: A to Z
    assert [name for name, _ in column(browser, "Retriever")] == ["bm25", "hybrid:bm25+splade", "splade"]
    browser.click(header("nDCG@10"))
    assert column(browser, "nDCG@10") == initial

    notes = browser.evaluate(f"""Array.from(document.querySelectorAll("{TABLE} thead th"))
        .map(th => [th.textContent.trim(), th.getAttribute("title")])""")
    assert all(title for name, title in notes if name), notes  # every column explains itself on hover
    assert any("Holm-corrected" in title for _, title in notes if title)
    marks = browser.evaluate("""Array.from(document.querySelectorAll("sup"))
        .map(s => [s.textContent, s.getAttribute("title")])""")
    assert all(title and title.startswith(("significantly better than", "significant:"))
               for _, title in marks), marks

    shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    png = tmp_path / "index.png"
    png.write_bytes(base64.b64decode(shot["data"]))
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 20_000
    assert browser.errors() == []


@needs_browser
def test_leaderboard_screenshot_option_draws_the_page(published: Path, tmp_path: Path) -> None:
    png = tmp_path / "docs" / "leaderboard.png"
    assert main(["leaderboard", "--out", str(published), "--format", "html", "--screenshot", str(png)]) == 0
    data = png.read_bytes()
    width, height = SCREENSHOT_SIZE
    size = width.to_bytes(4, "big") + height.to_bytes(4, "big")  # the PNG header's width and height
    assert data.startswith(b"\x89PNG") and data[16:24] == size
