"""Bad input in a shop's files and in the built-ins: one line naming file, line/row and fix; what a
spreadsheet does on re-save (BOM, CRLF, quoted newlines) is accepted. Real files in tmp_path, cut
from shipped data (Home Depot, CrowdFlower, ESCI)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from bench.datasets import REPO_DATA_DIR, load
from bench.datasets.export import export_beir
from bench.errors import BenchError


def one_line_error(name: str | Path, *fragments: str, data_dir: Path | None = None) -> str:
    with pytest.raises(BenchError) as caught:
        load(str(name), "test", data_dir=data_dir)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.fixture(scope="module")
def homedepot_rows() -> pd.DataFrame:
    """The rows of 50 real Home Depot products (their judgments included), as shipped (latin-1)."""
    rows = pd.read_csv(REPO_DATA_DIR / "homedepot" / "train.csv.zip", encoding="latin-1", dtype=str,
                       keep_default_na=False)
    # products whose titles have non-ASCII characters (®, °, ...) first: they test the encodings
    special = rows[~rows.product_title.map(str.isascii)].product_uid.unique()[:10]
    plain = rows[rows.product_title.map(str.isascii)].product_uid.unique()[:40]
    return rows[rows.product_uid.isin([*special, *plain])]


@pytest.fixture
def shop(tmp_path, homedepot_rows) -> Path:
    """A shop folder made of the 50 Home Depot products: products.csv + judgments.csv (UTF-8)."""
    folder = tmp_path / "shop"
    folder.mkdir()
    products = homedepot_rows.drop_duplicates("product_uid")[["product_uid", "product_title"]]
    products.columns = ["product_id", "title"]
    products.to_csv(folder / "products.csv", index=False)
    grades = (homedepot_rows.relevance.astype(float) * 3 - 3).round().astype(int)
    judgments = homedepot_rows.assign(grade=grades)
    judgments = judgments[["search_term", "product_uid", "grade"]]
    judgments.columns = ["query", "product_id", "grade"]
    judgments.to_csv(folder / "judgments.csv", index=False)
    return folder


@pytest.fixture
def beir(tmp_path) -> Path:
    return export_beir([load("esci", "test")], tmp_path / "beir")


def edit_lines(path: Path, change) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- built-in loaders


def test_homedepot_resaved_by_a_spreadsheet_reads_the_same(tmp_path, homedepot_rows):
    """50 real products in the publisher's latin-1, and re-saved as "CSV UTF-8" (BOM, CRLF)."""
    original, resaved = tmp_path / "original" / "homedepot", tmp_path / "resaved" / "homedepot"
    original.mkdir(parents=True)
    resaved.mkdir(parents=True)
    homedepot_rows.to_csv(original / "train.csv", index=False, encoding="latin-1")
    homedepot_rows.to_csv(resaved / "train.csv", index=False, encoding="utf-8-sig", lineterminator="\r\n")
    assert (resaved / "train.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    for split in ("test", "train"):
        a = load("homedepot", split, data_dir=original.parent)
        b = load("homedepot", split, data_dir=resaved.parent)
        assert a.fingerprint == b.fingerprint and a.qrels == b.qrels and a.queries == b.queries
    titles = [doc.title for doc in load("homedepot", "train", data_dir=resaved.parent).corpus.values()]
    assert any(not t.isascii() for t in titles) and not any("Ã" in t or "Â" in t for t in titles)


def test_crowdflower_resaved_with_quoted_newlines_is_accepted_and_cp1252_is_named(tmp_path):
    rows = pd.read_csv(REPO_DATA_DIR / "crowdflower" / "train.csv.zip", dtype=str, keep_default_na=False)
    rows = rows.head(300)
    assert rows.product_description.str.contains("\n").any()  # real quoted newlines
    folder = tmp_path / "crowdflower"
    folder.mkdir()
    rows.to_csv(folder / "train.csv", index=False, encoding="utf-8-sig", lineterminator="\r\n")
    resaved = load("crowdflower", "train", data_dir=tmp_path)
    rows.to_csv(folder / "train.csv", index=False)
    assert load("crowdflower", "train", data_dir=tmp_path).fingerprint == resaved.fingerprint
    rows.assign(query=rows["query"].str.replace("a", "\u2019", n=1)).to_csv(
        folder / "train.csv", index=False, encoding="cp1252", errors="replace")
    one_line_error("crowdflower", "train.csv", "not utf-8 text (line 2: byte 0x92)", "cp1252", "CSV UTF-8",
                   data_dir=tmp_path)


# ---------------------------------------------------------------- shop tables


def test_shop_files_and_columns(shop):
    assert load(str(shop)).corpus  # the clean folder loads
    (shop / "judgments.csv").rename(shop / "ratings.csv")
    one_line_error(shop, "judgments.csv (or .tsv, .parquet) not found", "query, product_id, grade")
    renamed = pd.read_csv(shop / "ratings.csv").rename(columns={"grade": "score"})
    renamed.to_csv(shop / "judgments.csv", index=False)
    one_line_error(shop, "judgments.csv", "missing column(s) grade", "found: query, product_id, score")
    (shop / "dataset.toml").write_text('judgments = "ratings.csv"\ntext_columns = ["description"]\n')
    one_line_error(shop, "products.csv", "missing column(s) description")
    (shop / "dataset.toml").write_text('judgment = "ratings.csv"\n')
    one_line_error(shop, "dataset.toml", "unknown key(s) judgment", "judgments")
    (shop / "dataset.toml").write_text('judgments = "ratings.csv\n')
    one_line_error(shop, "dataset.toml", "not valid TOML", "line 1")


def test_shop_duplicates_unknown_products_and_empty_titles(shop):
    products = shop / "products.csv"
    edit_lines(products, lambda lines: [*lines, lines[3]])
    one_line_error(shop, "products.csv", "duplicate product_id", "rows 4 and 52")
    edit_lines(products, lambda lines: [*lines[:-1], "999999,"])
    one_line_error(shop, "products.csv", "row 52", "'999999' has an empty title", "give every product one")
    edit_lines(products, lambda lines: lines[:-1])
    judgments = shop / "judgments.csv"
    edit_lines(judgments, lambda lines: [*lines, "angle bracket,123456,3"])
    rows = len(judgments.read_text().splitlines())
    one_line_error(shop, "judgments.csv", f"row {rows}", "product_id '123456' is not in", "products.csv")
    edit_lines(judgments, lambda lines: [*lines[:-1], lines[1], ])
    one_line_error(shop, "judgments.csv", f"rows 2 and {rows}", "judge the same (query, product)", "keep one")


def test_shop_grades(shop):
    judgments = shop / "judgments.csv"
    clean = judgments.read_text().splitlines()
    rows = len(clean)

    def last_grade(value: str) -> None:
        judgments.write_text("\n".join([*clean[:-1], clean[-1].rsplit(",", 1)[0] + "," + value]) + "\n")

    last_grade("high")
    one_line_error(shop, "judgments.csv", f"row {rows}", "grade 'high' is not a whole number", "labels =")
    last_grade("2.5")
    one_line_error(shop, f"row {rows}", "grade '2.5' is not a whole number")
    last_grade("-1")
    one_line_error(shop, f"row {rows}", "grade -1 is outside the scale", "grades = [0, 3]")
    last_grade("6")
    (shop / "dataset.toml").write_text("grades = [0, 3]\n")
    one_line_error(shop, "judgments.csv", "grade 6 is outside the scale", "from 0 to 3")
    (shop / "dataset.toml").write_text("grades = [0, 6]\nrelevant_grade = 7\n")
    one_line_error(shop, "dataset.toml", "relevant_grade = 7 is outside grades [0, 6]")
    (shop / "dataset.toml").write_text('labels = { Exact = 2, Partial = 1 }\n')
    one_line_error(shop, "judgments.csv", "row 2", "not one of the labels in dataset.toml (Exact, Partial)")


def test_shop_wrong_encodings_are_named_and_can_be_stated(shop):
    products = pd.read_csv(shop / "products.csv", dtype=str)
    non_ascii = int((~products.title.map(str.isascii)).to_numpy().nonzero()[0][0]) + 2
    products.to_csv(shop / "products.csv", index=False, encoding="latin-1")
    one_line_error(shop, "products.csv", f"not utf-8 text (line {non_ascii}", "latin-1 (ISO-8859-1)",
                   'encoding = "cp1252"')
    products.assign(title=products.title + " \u2013 Best\u2122").to_csv(shop / "products.csv", index=False,
                                                                          encoding="cp1252")
    one_line_error(shop, "products.csv", "line 2: byte 0x96", "cp1252 (Windows-1252")
    (shop / "dataset.toml").write_text('encoding = "cp1252"\n')
    titles = {doc.title for doc in load(str(shop), "train").corpus.values()}
    assert any(title.endswith("\u2013 Best\u2122") for title in titles)


def test_shop_split_column(shop):
    judgments = pd.read_csv(shop / "judgments.csv", dtype=str)
    judgments.assign(split="holdout").to_csv(shop / "judgments.csv", index=False)
    one_line_error(shop, "judgments.csv", "row 2", "split 'holdout'", "test, train, dev")
    first = judgments["query"].iloc[0]
    twice = judgments[judgments["query"] == first].index
    assert len(twice) > 1
    splits = ["train" if i == twice[-1] else "test" for i in judgments.index]
    judgments.assign(split=splits).to_csv(shop / "judgments.csv", index=False)
    one_line_error(shop, f"row {twice[-1] + 2}", f"query {first!r} is in split 'train'", "one split")


# ---------------------------------------------------------------- BEIR


def test_beir_missing_files_and_headers(beir):
    (beir / "qrels" / "test.tsv").rename(beir / "test.tsv")
    one_line_error(beir, "qrels/test.tsv not found", "corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    lines = (beir / "test.tsv").read_text().splitlines()
    (beir / "qrels" / "test.tsv").write_text("\n".join(lines[1:]) + "\n")
    one_line_error(beir, "test.tsv", "line 1", "not the header", "query-id<TAB>corpus-id<TAB>score")
    (beir / "qrels" / "test.tsv").write_text("\n".join([lines[0], lines[1].replace("\t", " ")]) + "\n")
    one_line_error(beir, "test.tsv", "line 2: 1 TAB-separated cells, expected 3")


def test_beir_malformed_json_and_duplicates(beir):
    corpus = beir / "corpus.jsonl"
    clean = corpus.read_text(encoding="utf-8")
    edit_lines(corpus, lambda lines: [*lines[:9], lines[9][:-5], *lines[10:]])
    one_line_error(beir, "corpus.jsonl", "line 10: not valid JSON", "fix or remove that line")
    edit_lines(corpus, lambda lines: [*lines[:9], "[1, 2]", *lines[10:]])
    one_line_error(beir, "line 10: a JSON list, not an object")
    edit_lines(corpus, lambda lines: [*lines[:9], lines[3], *lines[10:]])
    one_line_error(beir, "corpus.jsonl", "line 10: duplicate _id", "first on line 4")
    edit_lines(corpus, lambda lines: [*lines[:9], '{"_id": "X1", "title": " ", "text": ""}', *lines[10:]])
    one_line_error(beir, "line 10: product 'X1' has an empty title and text")
    edit_lines(corpus, lambda lines: [*lines[:9], '{"title": "Oak desk"}', *lines[10:]])
    one_line_error(beir, "line 10: no \"_id\"")
    corpus.write_text(clean, encoding="utf-8")
    queries = beir / "queries.jsonl"
    edit_lines(queries, lambda lines: [*lines, lines[0]])
    rows = len(queries.read_text().splitlines())
    one_line_error(beir, "queries.jsonl", f"line {rows}: duplicate _id", "first on line 1")


def test_beir_qrels_naming_unknown_ids_bad_grades_and_split_leaks(beir):
    qrels = beir / "qrels" / "test.tsv"
    original = qrels.read_text().splitlines()
    qid, doc_id, _ = original[1].split("\t")
    qrels.write_text("\n".join([*original, f"{qid}\tB000NOTHERE\t1"]) + "\n")
    one_line_error(beir, "test.tsv", f"line {len(original) + 1}", "corpus-id 'B000NOTHERE' is not in",
                   "corpus.jsonl")
    qrels.write_text("\n".join([*original, f"nobody\t{doc_id}\t1"]) + "\n")
    one_line_error(beir, "query-id 'nobody' is not in", "queries.jsonl")
    qrels.write_text("\n".join([*original, f"{qid}\t{doc_id}\t2"]) + "\n")
    one_line_error(beir, f"line {len(original) + 1}", "judged twice")
    qrels.write_text("\n".join([original[0], f"{qid}\t{doc_id}\tgood", *original[2:]]) + "\n")
    one_line_error(beir, "line 2: score 'good' is not a whole number")
    qrels.write_text("\n".join([original[0], f"{qid}\t{doc_id}\t101", *original[2:]]) + "\n")
    one_line_error(beir, "line 2: grade 101 is outside the scale", "from 0 to 100")  # export: [0, 100]
    qrels.write_text("\n".join(original) + "\n")
    (beir / "qrels" / "train.tsv").write_text("\n".join([original[0], original[1]]) + "\n")
    one_line_error(beir, "train.tsv", f"query-id {qid!r} is also in qrels/test.tsv", "one split only")


def test_beir_wrong_encoding_and_bom(beir):
    corpus = beir / "corpus.jsonl"
    lines = corpus.read_text(encoding="utf-8").splitlines()
    lines.append(json.dumps({"_id": "X5", "title": "Caf\u00e9 chair", "text": ""}, ensure_ascii=False))
    corpus.write_bytes(("\n".join(lines) + "\n").encode("latin-1", errors="replace"))
    first = next(n for n, line in enumerate(corpus.read_bytes().split(b"\n"), 1) if not line.isascii())
    one_line_error(beir, "corpus.jsonl", f"line {first}: not UTF-8 text", "latin-1")
    corpus.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode("utf-8"))
    assert load(str(beir)).corpus  # a byte-order mark and CRLF are fine


def test_builtin_zip_with_bom(tmp_path):
    """A Kaggle zip re-packed after a spreadsheet re-save (BOM + CRLF inside the zip)."""
    rows = pd.read_csv(REPO_DATA_DIR / "crowdflower" / "train.csv.zip", dtype=str, keep_default_na=False)
    folder = tmp_path / "crowdflower"
    folder.mkdir()
    with zipfile.ZipFile(folder / "train.csv.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.csv", rows.head(500).to_csv(index=False, lineterminator="\r\n")
                         .encode("utf-8-sig"))
    assert load("crowdflower", "train", data_dir=tmp_path).queries
