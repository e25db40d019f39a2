"""Loaders and protocol on the shipped real slices (datasets/) and the format fixtures (tests/fixtures/)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from bench.datasets import NAMES, REPO_DATA_DIR, load, missing
from bench.datasets.cli import format_stats, verify
from bench.datasets.homedepot import gain
from bench.datasets.prepare import prepare
from bench.datasets.protocol import CORPUS_SIZE, TEST_QUERIES, is_test_query, normalise_query
from bench.errors import BenchError

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def homedepot_test():
    return load("homedepot", "test")


@pytest.fixture(scope="module")
def homedepot_train():
    return load("homedepot", "train")


def test_shipped_datasets_present_and_verified():
    for name in ("esci", "homedepot", "crowdflower"):
        assert missing(name) is None
        assert verify(name) == []
    reason = missing("wands")
    assert "product.csv" in reason and "label.csv" in reason and "download wands" in reason


def test_homedepot_test_split_follows_protocol(homedepot_test):
    ds = homedepot_test
    assert ds.name == "homedepot" and ds.split == "test" and ds.relevant_grade == 4
    assert len(ds.queries) == TEST_QUERIES
    judged = {doc for grades in ds.qrels.values() for doc in grades}
    assert judged <= set(ds.corpus)
    assert len(ds.corpus) >= min(CORPUS_SIZE, len(judged))
    assert all(ds.relevant(q) for q in ds.queries)  # no query without a relevant product
    assert all(is_test_query(text) for text in ds.queries.values())
    assert any("dropped" in note for note in ds.notes)


def test_homedepot_train_and_test_never_share_a_query(homedepot_test, homedepot_train):
    test_texts = {normalise_query(t) for t in homedepot_test.queries.values()}
    train_texts = {normalise_query(t) for t in homedepot_train.queries.values()}
    assert test_texts and train_texts and not test_texts & train_texts
    assert len(train_texts) > 3 * len(test_texts)


def test_homedepot_gains_keep_rating_order():
    ratings = [1, 1.25, 1.33, 1.5, 1.67, 1.75, 2, 2.25, 2.33, 2.5, 2.67, 2.75, 3]
    gains = [gain(r) for r in ratings]
    assert gains == sorted(gains) and gains[0] == 0 and gains[-1] == 6
    assert [gain(r) for r in (1, 1.33, 1.67, 2, 2.33, 2.67, 3)] == [0, 1, 2, 3, 4, 5, 6]


def test_homedepot_gains_match_raw_file(homedepot_test):
    rows = pd.read_csv(REPO_DATA_DIR / "homedepot" / "train.csv.zip", encoding="latin-1")
    query_id, text = next(iter(homedepot_test.queries.items()))
    raw = rows[rows.search_term == text]
    assert {str(uid): gain(r) for uid, r in zip(raw.product_uid, raw.relevance, strict=True)} == \
        homedepot_test.qrels[query_id]
    uid = str(raw.product_uid.iloc[0])
    assert homedepot_test.corpus[uid].title == raw.product_title.iloc[0]


def test_limit_queries_is_a_seeded_prefix_with_the_same_corpus(homedepot_test):
    small = load("homedepot", "test", limit_queries=50)
    assert len(small.queries) == 50
    assert set(small.queries) <= set(homedepot_test.queries)
    assert small.fingerprint == homedepot_test.fingerprint  # the quick run reuses the full index
    assert load("homedepot", "test", limit_queries=50).queries == small.queries
    assert load("homedepot", "test", limit_queries=50, seed=7).queries != small.queries


def test_crowdflower_shipped():
    test, train = load("crowdflower", "test"), load("crowdflower", "train")
    assert test.relevant_grade == 2 and test.queries and train.queries
    assert not set(test.queries.values()) & set(train.queries.values())
    gains = Counter(g for grades in test.qrels.values() for g in grades.values())
    assert set(gains) <= {0, 1, 2, 3}
    assert len(test.corpus) <= CORPUS_SIZE and {d for g in test.qrels.values() for d in g} <= set(test.corpus)
    assert any(doc.text for doc in test.corpus.values())  # descriptions are joined
    assert any("repeated" in note for note in test.notes)


def test_esci_shipped_subset():
    ds = load("esci", "test")
    assert ds.relevant_grade == 2 and len(ds.queries) > 100
    assert Counter(g for grades in ds.qrels.values() for g in grades.values()).keys() <= {0, 1, 2, 3}
    assert all(ds.relevant(q) for q in ds.queries)
    train = load("esci", "train")
    assert not train.queries and "no train queries" in " ".join(train.notes)


def test_esci_official_schema_fixture(tmp_path):
    """The real 16-row official examples file (Vespa's copy) and its 16 products."""
    data = tmp_path / "esci"
    shutil.copytree(FIXTURES / "esci-official-sample", data)
    ds = load("esci", "test", data_dir=tmp_path)
    assert list(ds.queries.values()) == ["06 bmw 325i radio oem not navigation system"]
    assert len(ds.corpus) == 16 and ds.qrels["535"]["B08PB9TTKT"] == 3
    doc = ds.corpus["B08VSJGP1N"]
    assert doc.title.startswith("Apple Carplay") and doc.text.startswith("Rimoody")  # brand, then description
    assert len(doc.text) <= 2000 and doc.fields["brand"] == "Rimoody"


def test_wands_real_queries_with_format_fixture(tmp_path):
    data = tmp_path / "wands"
    data.mkdir()
    shutil.copy(REPO_DATA_DIR / "wands" / "query.csv", data)
    assert "product.csv" in missing("wands", tmp_path)
    for name in ("product.csv", "label.csv"):
        shutil.copy(FIXTURES / "wands-format" / name, data)
    assert missing("wands", tmp_path) is None
    test, train = load("wands", "test", data_dir=tmp_path), load("wands", "train", data_dir=tmp_path)
    assert set(test.queries.values()) == {"home sweet home sign", "coffee table fire pit"}
    assert set(train.queries.values()) == {"salon chair", "smart coffee table"}  # "dinosaur": Partial only
    assert len(test.corpus) == 5  # every product
    assert test.qrels["8"] == {"2": 2, "4": 0} and train.qrels["1"] == {"1": 2, "3": 1}
    assert test.corpus["0"].fields["product_class"] == "Massage Chairs"
    assert any("1 of 3 train queries dropped" in note for note in train.notes)


def test_prepare_reproduces_shipped_slices(tmp_path):
    if not SHARED.is_dir():
        pytest.skip("publisher files not on this machine (/work/shared/data)")
    for name in NAMES:
        prepare(name, SHARED / name, tmp_path / name)
        assert (tmp_path / name / "SHA256SUMS").read_text() == \
            (REPO_DATA_DIR / name / "SHA256SUMS").read_text()


def test_stats_lines(homedepot_test):
    text = format_stats(homedepot_test, 0.5)
    assert "2000 queries" in text and "grades {0:" in text and "relevant >= 4" in text


def test_unknown_names():
    with pytest.raises(BenchError, match="unknown dataset"):
        load("nope")
    with pytest.raises(BenchError, match="unknown split"):
        load("crowdflower", "dev")


def run_data_command(argv: list[str]) -> int:
    """The `data` subcommand as bench/cli.py wires it (add_command + handler)."""
    import argparse

    from bench.datasets.cli import add_command

    parser = argparse.ArgumentParser()
    add_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_stats_verify_and_missing(capsys, tmp_path):
    assert run_data_command(["data", "stats", "esci"]) == 0
    out = capsys.readouterr().out
    assert "esci test:" in out and "esci train: 0 queries" in out and "mean product text" in out
    assert run_data_command(["data", "stats", "wands"]) == 0
    assert "wands: missing:" in capsys.readouterr().out
    assert run_data_command(["data", "verify"]) == 0
    assert "homedepot: ok" in capsys.readouterr().out
    copy = tmp_path / "crowdflower"
    shutil.copytree(REPO_DATA_DIR / "crowdflower", copy)
    (copy / "train.csv.zip").write_bytes(b"not the file")
    with pytest.raises(BenchError, match="SHA256SUMS"):
        run_data_command(["data", "verify", "crowdflower", "--data-dir", str(tmp_path)])
    assert "sha256 differs" in capsys.readouterr().out


def test_seeded_fill_stops_at_fill_to():
    """The fill branch that samples (the shipped data either exceeds 10,000 judged or has fewer products)."""
    from bench.data import Document
    from bench.datasets import crowdflower
    from bench.datasets.protocol import Source, make_split

    source = crowdflower.read(REPO_DATA_DIR / "crowdflower")
    small = Source(source.name, source.queries, source.qrels, source.test_queries, source.product_ids,
                   source.documents, source.relevant_grade, fill_to=2_000)
    a, b = make_split(small, "test", seed=1), make_split(small, "test", seed=1)
    judged = {d for grades in a.qrels.values() for d in grades}
    assert len(a.corpus) == 2_000 and judged <= set(a.corpus) and a.fingerprint == b.fingerprint
    assert make_split(small, "test", seed=2).fingerprint != a.fingerprint
    assert isinstance(next(iter(a.corpus.values())), Document)
