"""A shop's own dataset (BEIR folder or products + judgments tables), plug-ins, dataset paths and the
BEIR export, on files written in tmp_path from real shipped rows (CrowdFlower, Home Depot, ESCI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from bench.data import Dataset
from bench.datasets import REPO_DATA_DIR, load, missing, names, read_source, resolve
from bench.datasets.crowdflower import product_id
from bench.datasets.export import export_beir
from bench.datasets.protocol import is_test_query, normalise_query
from bench.errors import BenchError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def crowdflower_rows() -> pd.DataFrame:
    """Real CrowdFlower rows: the judgments of 60 queries (every product judged for them)."""
    rows = pd.read_csv(REPO_DATA_DIR / "crowdflower" / "train.csv.zip", dtype=str, keep_default_na=False)
    chosen = sorted(rows["query"].unique())[:60]
    rows = rows[rows["query"].isin(chosen)].drop_duplicates(["query", "product_title", "product_description"])
    return rows.assign(product_id=[product_id(t, d) for t, d in
                                   zip(rows.product_title, rows.product_description, strict=True)])


def shop_tables(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    products = rows.drop_duplicates("product_id")[["product_id", "product_title", "product_description"]]
    products = products.rename(columns={"product_title": "title", "product_description": "description"})
    judgments = rows.assign(grade=rows.median_relevance.astype(int) - 1)[["query", "product_id", "grade"]]
    return products, judgments.drop_duplicates(["query", "product_id"])


def write_shop(folder: Path, rows: pd.DataFrame, toml: str | None = 'text_columns = ["description"]\n',
               **to_csv: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    products, judgments = shop_tables(rows)
    products.to_csv(folder / "products.csv", index=False, **to_csv)
    judgments.to_csv(folder / "judgments.csv", index=False, **to_csv)
    if toml is not None:
        (folder / "dataset.toml").write_text(toml, encoding="utf-8")
    return folder


def same(a: Dataset, b: Dataset) -> None:
    assert a.fingerprint == b.fingerprint and a.queries == b.queries and a.qrels == b.qrels
    assert a.relevant_grade == b.relevant_grade


def one_line_error(name: str | Path, *fragments: str, split: str = "test") -> str:
    with pytest.raises(BenchError) as caught:
        load(str(name), split)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---------------------------------------------------------------- shop tables


def test_shop_tables_load_with_the_hash_split_and_an_inferred_grade(tmp_path, crowdflower_rows, capsys):
    shop = write_shop(tmp_path / "my-shop", crowdflower_rows)
    test, train = load(str(shop), "test"), load(str(shop), "train")
    assert "my-shop: grades 0-3 (as found); relevant: grade >= 2 (inferred" in capsys.readouterr().out
    assert test.name == "my-shop" and test.relevant_grade == 2
    assert test.queries and train.queries
    assert all(is_test_query(text) for text in test.queries.values())
    test_texts = {normalise_query(t) for t in test.queries.values()}
    assert not test_texts & {normalise_query(t) for t in train.queries.values()}
    products, judgments = shop_tables(crowdflower_rows)
    assert len(test.corpus) == len(products)  # a custom corpus is used as given: every product
    doc = test.corpus[products.product_id.iloc[0]]
    assert doc.title == products.title.iloc[0].strip()
    assert doc.text == products.description.iloc[0].strip()[:2000]
    assert doc.fields["description"] == products.description.iloc[0]
    dev = load(str(shop), "dev")  # train-pool queries in the dev hash bucket
    assert dev.queries and not {normalise_query(t) for t in dev.queries.values()} & test_texts
    judged = sum(len(g) for split in (test, dev, train) for g in split.qrels.values())
    answerable = judgments.groupby("query").grade.max() >= 2
    assert judged == judgments[judgments["query"].isin(answerable[answerable].index)].shape[0]


def test_spreadsheet_resave_is_accepted(tmp_path, crowdflower_rows):
    """UTF-8 with a byte-order mark, CRLF line ends, quoted newlines, `;` separators: same dataset."""
    clean = load(str(write_shop(tmp_path / "clean", crowdflower_rows)))
    resaved = write_shop(tmp_path / "resaved", crowdflower_rows, encoding="utf-8-sig", lineterminator="\r\n",
                         sep=";")
    raw = (resaved / "products.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert any("\n" in doc.fields.get("description", "") for doc in clean.corpus.values())  # quoted newlines
    same(clean, load(str(resaved)))


def test_tsv_and_parquet_are_detected(tmp_path, crowdflower_rows):
    clean = load(str(write_shop(tmp_path / "clean", crowdflower_rows)))
    products, judgments = shop_tables(crowdflower_rows)
    tsv, parquet = tmp_path / "tsv", tmp_path / "parquet"
    for folder in (tsv, parquet):
        folder.mkdir()
        (folder / "dataset.toml").write_text('text_columns = ["description"]\n')
    products.to_csv(tsv / "products.tsv", sep="\t", index=False)
    judgments.to_csv(tsv / "judgments.tsv", sep="\t", index=False)
    products.to_parquet(parquet / "products.parquet")
    judgments.to_parquet(parquet / "judgments.parquet")  # grades stay integers in parquet
    same(clean, load(str(tsv)))
    same(clean, load(str(parquet)))


def test_dataset_toml_labels_scale_splits_and_ids(tmp_path, crowdflower_rows):
    products, judgments = shop_tables(crowdflower_rows)
    words = {0: "Irrelevant", 1: "Partial", 2: "Partial", 3: "Exact"}
    queries = sorted(judgments["query"].unique())
    split = {q: "test" if i % 3 == 0 else "train" for i, q in enumerate(queries)}
    judgments = judgments.assign(grade=judgments.grade.map(words), split=judgments["query"].map(split),
                                 query_id=judgments["query"].map({q: f"Q{i}" for i, q in enumerate(queries)}))
    shop = tmp_path / "shop"
    shop.mkdir()
    products.rename(columns={"product_id": "product_id"}).to_csv(shop / "catalog.csv", index=False)
    judgments.to_csv(shop / "ratings.csv", index=False)
    (shop / "dataset.toml").write_text(textwrap.dedent("""\
        name = "acme"
        products = "catalog.csv"
        judgments = "ratings.csv"
        labels = { Exact = 2, Partial = 1, Irrelevant = 0 }
        relevant_grade = 2
        max_docs = 300
    """))
    test, train = load(str(shop), "test"), load(str(shop), "train")
    assert test.name == "acme" and test.relevant_grade == 2
    assert set(test.queries) <= {f"Q{i}" for i, q in enumerate(queries) if split[q] == "test"}
    assert set(train.queries) <= {f"Q{i}" for i, q in enumerate(queries) if split[q] == "train"}
    assert {g for grades in test.qrels.values() for g in grades.values()} <= {0, 1, 2}
    judged = {d for grades in test.qrels.values() for d in grades}
    assert len(test.corpus) == max(300, len(judged)) and judged <= set(test.corpus)
    assert not test.corpus[judgments.product_id.iloc[0]].text  # no text_columns: title only
    assert any("max_docs" in note for note in test.notes)


# ---------------------------------------------------------------- BEIR


def write_beir(folder: Path, corpus: list[dict], queries: list[dict], qrels: dict[str, list[tuple]]) -> Path:
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    for split, rows in qrels.items():
        lines = ["query-id\tcorpus-id\tscore", *("\t".join(map(str, row)) for row in rows)]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def esci_beir(tmp_path) -> tuple[Path, Dataset]:
    """The shipped ESCI test split as a hand-written BEIR folder with a brand field and a dev split."""
    esci = load("esci", "test")
    qids = sorted(esci.queries)
    corpus = [{"_id": d, "title": doc.title, "text": doc.text, "brand": doc.fields.get("brand", "n/a")}
              for d, doc in esci.corpus.items()]
    queries = [{"_id": q, "text": esci.queries[q]} for q in qids]
    qrels = {"test": [(q, d, g) for q in qids[:200] for d, g in esci.qrels[q].items()],
             "dev": [(q, d, g) for q in qids[200:] for d, g in esci.qrels[q].items()]}
    return write_beir(tmp_path / "esci-beir", corpus, queries, qrels), esci


def test_beir_folder_with_fields_and_a_dev_split(esci_beir, capsys):
    folder, esci = esci_beir
    source = read_source(str(folder))
    assert source.splits == ["test", "dev", "train"] and source.relevant_grade == 1  # BEIR's convention
    assert "relevant: grade >= 1 (inferred" in capsys.readouterr().out
    test, dev = load(str(folder), "test"), load(str(folder), "dev")
    assert len(test.queries) == 200 and len(dev.queries) == len(esci.queries) - 200
    assert len(test.corpus) == len(dev.corpus) == len(esci.corpus)  # evaluation splits: every product
    assert not load(str(folder), "train").queries
    doc_id = next(iter(esci.corpus))
    assert test.corpus[doc_id].contents == esci.corpus[doc_id].contents
    assert test.corpus[doc_id].fields["brand"] == esci.corpus[doc_id].fields.get("brand", "n/a")


@pytest.mark.slow
def test_export_round_trip_keeps_every_bm25_metric(tmp_path):
    """Each shipped dataset exported as BEIR and loaded back: same data, same bm25 run, same metrics.

    Both sides share one cache, as two runs of the harness do: the export's corpus has the same
    fingerprint, so its bm25 index is found there. The queries go in the same order on both sides
    (bm25 scores vary in the 7th digit with the batch a query is in: issue 16, reproducible runs).
    """
    from bench import registry
    from bench.engine import open_engine
    from bench.metrics import evaluate
    from bench.retriever import Settings

    engine = open_engine(None, tmp_path / "cache")
    try:
        for name in ("homedepot", "crowdflower", "esci"):
            original = load(name, "test")
            folder = export_beir([original], tmp_path / f"{name}-export")
            exported = load(str(folder), "test")
            same(original, exported)
            assert exported.name == f"{name}-export" and len(exported.corpus) == len(original.corpus)
            assert set(exported.queries) == set(original.queries) and exported.notes != original.notes
            scores, cached = [], []
            for dataset in (original, exported):
                bm25 = registry.create("bm25", Settings(cache_dir=tmp_path / "cache", engine=engine))
                bm25.index(dataset.corpus)
                cached.append(bool(bm25.info().get("index_cached")))
                run = bm25.search({q: dataset.queries[q] for q in original.queries}, 100)
                scores.append(evaluate(dataset.qrels, run, dataset.relevant_grade))
            assert cached == [False, True], name  # the export's corpus is the original's, byte for byte
            assert scores[0] == scores[1] and scores[0]["ndcg@10"] > 0.3, (name, scores)
    finally:
        engine.close()


def test_export_refuses_a_used_folder_and_writes_nothing_half(tmp_path):
    ds = load("esci", "test", limit_queries=5)
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    with pytest.raises(BenchError, match="already exists and is not empty"):
        export_beir([ds], used)
    assert [p.name for p in used.iterdir()] == ["keep.txt"] and sorted(os.listdir(tmp_path)) == ["used"]


# ---------------------------------------------------------------- names, paths, plug-ins, CLI


def test_names_paths_and_data_dir_folders(tmp_path, crowdflower_rows):
    write_shop(tmp_path / "data" / "acme", crowdflower_rows)
    data = tmp_path / "data"
    assert names(data)[-1] == "acme" and resolve("acme", data).kind == "table"
    assert missing("acme", data) is None and load("acme", data_dir=data).name == "acme"
    assert resolve(str(REPO_DATA_DIR / "homedepot")).kind == "built-in"
    (tmp_path / "empty").mkdir()
    one_line_error(tmp_path / "empty", "not a dataset folder", "corpus.jsonl", "products")
    one_line_error(tmp_path / "nowhere", "no such folder")
    one_line_error("nope", "unknown dataset 'nope'", "homedepot", "./my-shop")
    clash = write_shop(tmp_path / "homedepot", crowdflower_rows, toml=None)
    one_line_error(clash, "built-in dataset", 'name = "my-homedepot"')


PLUGIN = '''
from pathlib import Path
from bench.datasets import beir
from bench.datasets.spec import detect

FOLDER = Path(__file__).parent / "shop_data"


def missing(directory):
    return beir.missing(FOLDER)


def read(directory):
    return beir.read(FOLDER, detect(FOLDER))
'''


def bench_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.mark.slow
def test_cli_lists_plugins_and_custom_folders_and_runs_a_path(tmp_path, esci_beir, crowdflower_rows):
    folder, _ = esci_beir
    site = tmp_path / "site"
    (site / "shop_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "shop_plugin.py").write_text(PLUGIN)
    folder.rename(site / "shop_data")
    (site / "shop_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: shop-plugin\n"
                                                                 "Version: 0.1\n")
    (site / "shop_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[bench.datasets]\nacme-plugin = shop_plugin\n")
    data = tmp_path / "data"
    shop = write_shop(data / "acme", crowdflower_rows)
    env = {"PYTHONPATH": str(site)}

    listed = bench_cli("list", "--data-dir", str(data), env=env)
    assert listed.returncode == 0, listed.stderr
    assert "acme-plugin              ready (plug-in)" in listed.stdout
    assert "acme                     ready (table)" in listed.stdout

    stats = bench_cli("data", "stats", str(shop), env=env)
    assert stats.returncode == 0, stats.stderr
    assert "acme test:" in stats.stdout and "acme train:" in stats.stdout

    out, cache = tmp_path / "results", tmp_path / "cache"
    ran = bench_cli("run", "-r", "bm25", "-d", str(shop), "-d", "acme-plugin", "--latency-queries", "3",
                    "--out", str(out), "--cache-dir", str(cache), env=env)
    assert ran.returncode == 0, ran.stderr
    for name in ("acme", "acme-plugin"):
        assert (out / name / "runs" / "bm25.trec").is_file(), name

    query = next(iter(load(str(shop)).queries.values()))
    explained = bench_cli("explain", "-d", str(shop), "-r", "bm25", "--query", query, "--out", str(out),
                          "--cache-dir", str(cache))
    assert explained.returncode == 0, explained.stderr
    assert query in explained.stdout

    wrong = bench_cli("run", "-r", "bm25", "-d", str(tmp_path / "nowhere"), "--out", str(out))
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: ") and wrong.stderr.count("\n") == 1


def test_train_split_of_a_path_dataset_feeds_training(tmp_path, crowdflower_rows):
    """`train` reads a dataset's train split through `load`; a path works there as a name does."""
    from bench.training.data import load_train_splits

    shop = write_shop(tmp_path / "my-shop", crowdflower_rows)
    [split] = load_train_splits([str(shop)], None, 42)
    assert split.name == "my-shop" and split.split == "train" and split.queries
    assert not any(is_test_query(text) for text in split.queries.values())


def test_perf_times_loading_a_generated_beir_folder(tmp_path):
    """`bench perf`'s dataset-load step on a small generated folder: both paths timed, every product read."""
    from bench.perf.loading import OURS, PANDAS, dataset_load
    from bench.perf.measure import Recorder
    from bench.perf.workload import Workload

    test = load("homedepot", "test", limit_queries=20)
    workload = Workload("homedepot", test.corpus, test.queries, tmp_path, seed=42)
    recorder = Recorder()
    dataset_load(recorder, workload, 3_000, tmp_path)
    ours, pandas_path = recorder.measurements
    assert (ours.path, pandas_path.path) == (OURS, PANDAS) and ours.ours and not pandas_path.ours
    assert ours.extra["documents"] == pandas_path.extra["rows"] == 3_000 and ours.extra["queries"] == 20
    assert ours.seconds > 0 and ours.rss_peak_mib >= ours.rss_start_mib > 0
