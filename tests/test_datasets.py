"""Loaders and protocol on the shipped real slices (datasets/) and the format fixtures (tests/fixtures/)."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from bench.commands.data import format_stats, verify
from bench.datasets import NAMES, REPO_DATA_DIR, esci, load, missing
from bench.datasets.export import export_beir
from bench.datasets.homedepot import gain
from bench.datasets.prepare import CONFLICTS, language, pick_title, prepare
from bench.datasets.protocol import (
    CORPUS_SIZE,
    TEST_QUERIES,
    Source,
    is_dev_query,
    is_test_query,
    normalise_query,
)
from bench.errors import BenchError

FIXTURES = Path(__file__).parent / "fixtures"
PUBLISHER = FIXTURES / "publisher"  # the publishers' files a slice is cut from (tests/fixtures/README.md)


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
    # every judged product, plus a seeded fill only up to CORPUS_SIZE: here the judged ones exceed it
    assert len(judged) > CORPUS_SIZE and len(ds.corpus) == len(judged)
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
    assert ds.relevant_grade == 10 and len(ds.queries) == 310 and len(ds.corpus) == 658
    assert ds.gains == {"E": 100, "S": 10, "C": 1, "I": 0}  # Task 1's 1.0 / 0.1 / 0.01 / 0, times 100
    assert Counter(g for grades in ds.qrels.values() for g in grades.values()).keys() == {0, 1, 10, 100}
    assert all(ds.relevant(q) for q in ds.queries)
    for split in ("train", "dev"):
        empty = load("esci", split)
        assert not empty.queries and f"no {split} queries" in " ".join(empty.notes)


def test_esci_slice_resolves_conflicting_titles_by_the_stated_rule():
    """The derived file gives 27 ASINs two or three titles (one per locale listing); the slice keeps the
    English one and lists every title in title_conflicts.tsv."""
    table = pd.read_csv(REPO_DATA_DIR / "esci" / CONFLICTS, sep="\t", dtype=str, keep_default_na=False)
    assert table.product_id.nunique() == 27 and len(table) == 58
    kept = table[table.kept == "1"]
    assert kept.product_id.is_unique and len(kept) == 27 and set(kept.language) == {"en"}
    assert Counter(table[table.kept == "0"].language) == {"es": 18, "ja": 9, "en": 4}
    titles = pd.read_parquet(REPO_DATA_DIR / "esci" / "shopping_queries_dataset_products.parquet")
    titles = dict(zip(titles.product_id, titles.product_title, strict=True))
    assert all(titles[doc_id] == title for doc_id, title in zip(kept.product_id, kept.title, strict=True))
    assert titles["B000MYW2ZA"].startswith("Life Extension Mega Green Tea Extract")


def test_language_test_for_conflicting_titles():
    assert language("TruSkin ビタミンCフェイシャルセラム 1オンス(約30ml)") == "ja"
    assert language("Anker Hub de datos ultra delgado con 4 puertos USB3.0") == "es"
    assert language("Vaseline Lip Balm for Instantly Soft Smooth Lips Crème Brûlée") == "en"  # é, û: French
    # Its limit: French "de" reads as Spanish. It only ranks the titles of one product against each other.
    assert language("Juliette Has a Gun Not A Perfume Eau de Parfum Spray, 3.3 Fl Oz") == "es"
    english = "ThermoPro TP03 Digital Instant Read Meat Thermometer with Backlight"
    assert pick_title(["ThermoPro TP03B Termómetro Digital Cocina de Lectura", english]) == english
    assert pick_title(["ポケモンカードゲーム BOX", "Pokemon Card Game Box"]) == "Pokemon Card Game Box"
    assert pick_title(["Lol Surprise Series", "LOL Surprise Series"]) == "Lol Surprise Series"  # tie: first


def test_esci_official_schema_fixture(tmp_path):
    """The real 16-row official examples file (Vespa's copy) and its 16 products."""
    data = tmp_path / "esci"
    shutil.copytree(FIXTURES / "esci-official-sample", data)
    ds = load("esci", "test", data_dir=tmp_path)
    assert list(ds.queries.values()) == ["06 bmw 325i radio oem not navigation system"]
    assert len(ds.corpus) == 16 and ds.qrels["535"]["B08PB9TTKT"] == 100
    doc = ds.corpus["B08VSJGP1N"]
    assert doc.title.startswith("Apple Carplay") and doc.text.startswith("Rimoody")  # brand, then description
    assert len(doc.text) <= 2000 and doc.fields["brand"] == "Rimoody"


def test_esci_official_files_task_1_rows_and_the_locale_join(tmp_path):
    """The fixture plus invented rows in the official schema: small_version 0 rows are not Task 1 and
    are left out; an ASIN with an ES listing (listed first) joins to its US title; official train
    queries in the dev hash bucket are dev."""
    data = tmp_path / "esci"
    shutil.copytree(FIXTURES / "esci-official-sample", data)
    examples_path, products_path = data / esci.EXAMPLES, data / esci.PRODUCTS
    examples, products = pd.read_parquet(examples_path), pd.read_parquet(products_path)
    row = examples.iloc[0].to_dict()
    texts = (f"car radio {n}" for n in range(1_000))
    dev_text = next(t for t in texts if is_dev_query(t))
    train_text = next(t for t in texts if not is_dev_query(t))
    extra = [
        {**row, "example_id": 1, "product_id": "B0LARGEONLY", "esci_label": "E", "small_version": 0},
        {**row, "example_id": 2, "query_id": 9, "query": "a large-version query", "small_version": 0},
        {**row, "example_id": 3, "query_id": 10, "query": "radio coche bmw", "product_id": "B08PB9TTKT",
         "product_locale": "es"},
        {**row, "example_id": 4, "query_id": 11, "query": dev_text, "esci_label": "E", "split": "train"},
        {**row, "example_id": 5, "query_id": 12, "query": train_text, "esci_label": "E", "split": "train"},
    ]
    pd.concat([examples, pd.DataFrame(extra)]).to_parquet(examples_path, index=False)
    us_row = products[products.product_id == "B08PB9TTKT"].iloc[0].to_dict()
    listings = [{**us_row, "product_locale": "es", "product_title": "Radio de coche para BMW Serie 3"},
                {**us_row, "product_id": "B0LARGEONLY", "product_title": "A product judged in Task 2 only"}]
    pd.concat([pd.DataFrame(listings), products]).to_parquet(products_path, index=False)

    ds = load("esci", "test", data_dir=tmp_path)
    assert list(ds.queries) == ["535"] and len(ds.qrels["535"]) == 16
    assert "B0LARGEONLY" not in ds.qrels["535"]
    assert ds.corpus["B08PB9TTKT"].title.startswith("AWESAFE Car Radio")
    assert ds.qrels["535"]["B08PB9TTKT"] == 100
    assert "2 us examples outside Task 1 (small_version == 0) left out" in ds.notes
    assert list(load("esci", "dev", data_dir=tmp_path).queries.values()) == [dev_text]
    assert list(load("esci", "train", data_dir=tmp_path).queries.values()) == [train_text]


def test_every_loader_records_its_gains(tmp_path):
    assert load("homedepot").gains == {"1": 0, "1.25": 1, "1.33": 1, "1.5": 2, "1.67": 2, "1.75": 2, "2": 3,
                                       "2.25": 4, "2.33": 4, "2.5": 5, "2.67": 5, "2.75": 5, "3": 6}
    assert load("crowdflower", "train").gains == {"1": 0, "2": 1, "3": 2, "4": 3}
    data = tmp_path / "wands"
    shutil.copytree(FIXTURES / "wands-format", data)
    shutil.copy(REPO_DATA_DIR / "wands" / "query.csv", data)
    assert load("wands", data_dir=tmp_path).gains == {"Exact": 2, "Partial": 1, "Irrelevant": 0}
    exported = export_beir([load("esci")], tmp_path / "beir")
    assert load(str(exported)).gains == {"0": 0, "1": 1, "10": 10, "100": 100}  # BEIR: grade -> itself
    assert Source("x", {}, {}, set(), [], dict, 1).gains == {}  # a plug-in that does not say


def test_homedepot_test_corpus_is_the_documented_pool():
    """The test corpus size, recomputed from train.csv.zip with datasets/README.md's rules alone (no
    bench.datasets code): the judged products of the 2,000 sampled test queries, no fill needed."""
    with zipfile.ZipFile(REPO_DATA_DIR / "homedepot" / "train.csv.zip") as archive:
        [member] = [name for name in archive.namelist() if name.endswith(".csv")]
        rows = list(csv.DictReader(io.StringIO(archive.read(member).decode("latin-1"))))
    judged: dict[str, dict[str, int]] = {}  # normalised query -> product -> gain (the higher if repeated)
    for row in rows:
        query = " ".join(row["search_term"].lower().split())
        grade = math.floor(3 * (float(row["relevance"]) - 1) + 0.5)  # round half up
        judged.setdefault(query, {})
        judged[query][row["product_uid"]] = max(grade, judged[query].get(row["product_uid"], 0))

    def bucket(query: str) -> int:
        digest = hashlib.sha256(b"split\0" + query.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % 100

    test = {"q" + hashlib.sha256(q.encode("utf-8")).hexdigest()[:12]: q for q in judged
            if bucket(q) < 20 and max(judged[q].values()) >= 4}
    order = sorted(test)
    random.Random(42).shuffle(order)
    pool = {product for qid in order[:2_000] for product in judged[test[qid]]}
    ds = load("homedepot")
    assert len(pool) == len(ds.corpus)  # 12,052 today
    assert {test[qid] for qid in order[:2_000]} == {normalise_query(text) for text in ds.queries.values()}


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
    """ESCI is converted from the deriver's JSON (a fixture); the others are the publishers' files
    copied unchanged, so the shipped files are their own source."""
    for name in NAMES:
        prepare(name, PUBLISHER / name if name == "esci" else REPO_DATA_DIR / name, tmp_path / name)
        assert (tmp_path / name / "SHA256SUMS").read_text() == \
            (REPO_DATA_DIR / name / "SHA256SUMS").read_text()


def test_stats_lines(homedepot_test):
    text = format_stats(homedepot_test, 0.5)
    assert "2000 queries" in text and "grades {0:" in text and "relevant >= 4" in text


def test_unknown_names():
    with pytest.raises(BenchError, match="unknown dataset"):
        load("nope")
    with pytest.raises(BenchError, match="unknown split"):
        load("crowdflower", "validation")


def run_data_command(argv: list[str]) -> int:
    """The `data` subcommand as bench/commands/ wires it (add_command + handler)."""
    import argparse

    from bench.commands.data import add_command

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
