"""Every kind of broken input gives one BenchError line naming the file and the fix (files in tmp_path)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bench.datasets import REPO_DATA_DIR, load, missing
from bench.errors import BenchError

FIXTURES = Path(__file__).parent / "fixtures"
# the first 185,322 bytes of the publisher's product_descriptions.csv: 200 complete rows, then a cut one
PARTIAL_DESCRIPTIONS = FIXTURES / "homedepot-partial-descriptions" / "product_descriptions.csv"
HD_HEADER = "id,product_uid,product_title,search_term,relevance\n"
HD_ROWS = ('2,100001,Simpson Strong-Tie 12-Gauge Angle,angle bracket,3\n'
           '3,100001,Simpson Strong-Tie 12-Gauge Angle,l bracket,2.5\n'
           '9,100002,BEHR Premium Textured DeckOver,deck over,3\n'
           '16,100005,Delta Vero Shower Faucet Trim,rain shower head,1.33\n')


def one_line_error(name: str, data_dir: Path, *fragments: str, split: str = "test") -> str:
    with pytest.raises(BenchError) as caught:
        load(name, split, data_dir=data_dir)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def wands_dir(tmp_path: Path) -> Path:
    data = tmp_path / "wands"
    data.mkdir()
    shutil.copy(REPO_DATA_DIR / "wands" / "query.csv", data)
    for name in ("product.csv", "label.csv"):
        shutil.copy(FIXTURES / "wands-format" / name, data)
    return data


def esci_dir(tmp_path: Path) -> Path:
    data = tmp_path / "esci"
    shutil.copytree(FIXTURES / "esci-official-sample", data)
    return data


def test_missing_files(tmp_path):
    (tmp_path / "homedepot").mkdir()
    assert "train.csv(.zip) not found" in missing("homedepot", tmp_path)
    assert "kaggle competitions download" in missing("homedepot", tmp_path)
    one_line_error("homedepot", tmp_path, "train.csv")
    data = wands_dir(tmp_path)
    (data / "label.csv").unlink()
    one_line_error("wands", tmp_path, "label.csv not found")


def test_renamed_column(tmp_path):
    write(tmp_path / "homedepot" / "train.csv", HD_HEADER.replace("search_term", "query") + HD_ROWS)
    one_line_error("homedepot", tmp_path, "train.csv", "missing column(s) search_term", "found: id")


def test_renamed_parquet_column(tmp_path):
    data = esci_dir(tmp_path)
    path = data / "shopping_queries_dataset_examples.parquet"
    table = pq.read_table(path)
    renamed = ["label" if c == "esci_label" else c for c in table.column_names]
    pq.write_table(table.rename_columns(renamed), path)
    one_line_error("esci", tmp_path, "examples.parquet", "missing column(s) esci_label")


def test_wrong_delimiter(tmp_path):
    data = wands_dir(tmp_path)
    product = data / "product.csv"
    product.write_text(product.read_text(encoding="utf-8").replace("\t", ","), encoding="utf-8")
    one_line_error("wands", tmp_path, "product.csv", "looks comma-separated", "TAB-separated")


def test_wrong_encoding(tmp_path):
    header = "id,query,product_title,product_description,median_relevance,relevance_variance\n"
    write(tmp_path / "crowdflower" / "train.csv", header + "1,café chairs,Bistro café chair,,4,0\n",
          encoding="latin-1")
    one_line_error("crowdflower", tmp_path, "train.csv", "not utf-8", "re-save")


def test_truncated_zip(tmp_path):
    blob = (REPO_DATA_DIR / "homedepot" / "train.csv.zip").read_bytes()
    (tmp_path / "homedepot").mkdir()
    (tmp_path / "homedepot" / "train.csv.zip").write_bytes(blob[: len(blob) // 2])
    one_line_error("homedepot", tmp_path, "train.csv.zip", "truncated")


def test_damaged_zip_member(tmp_path):
    path = tmp_path / "homedepot" / "train.csv.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.csv", HD_HEADER + HD_ROWS * 50)
    blob = bytearray(path.read_bytes())
    blob[60:90] = b"\0" * 30  # corrupt the deflated data; the directory stays readable
    path.write_bytes(bytes(blob))
    one_line_error("homedepot", tmp_path, "train.csv.zip")


def test_truncated_parquet(tmp_path):
    data = esci_dir(tmp_path)
    path = data / "shopping_queries_dataset_products.parquet"
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    one_line_error("esci", tmp_path, "products.parquet", "truncated")


def test_truncated_csv_row(tmp_path):
    write(tmp_path / "homedepot" / "train.csv", HD_HEADER + HD_ROWS)
    write(tmp_path / "homedepot" / "product_descriptions.csv",
          'product_uid,product_description\n100001,"Angles make joints stronger."\n100002,"Textured deck')
    one_line_error("homedepot", tmp_path, "product_descriptions.csv", "truncated")


def test_real_partial_descriptions_file(tmp_path):
    """The start of the real product_descriptions.csv, cut mid-row: the cut row is reported; without it,
    the descriptions are joined to their products"""
    data = tmp_path / "homedepot"
    data.mkdir()
    shutil.copy(REPO_DATA_DIR / "homedepot" / "train.csv.zip", data)
    shutil.copy(PARTIAL_DESCRIPTIONS, data)
    one_line_error("homedepot", tmp_path, "product_descriptions.csv", "truncated")
    lines = PARTIAL_DESCRIPTIONS.read_bytes().split(b"\n")
    complete = b"\n".join(line for line in lines if not line.startswith(b"100201,"))
    (data / "product_descriptions.csv").write_bytes(complete)
    ds = load("homedepot", "train", data_dir=tmp_path)
    described = [doc for doc in ds.corpus.values() if doc.text]
    assert described and all(100001 <= int(doc.doc_id) <= 100200 for doc in described)
    assert any("descriptions joined" in note for note in ds.notes)


def test_duplicate_ids(tmp_path):
    write(tmp_path / "homedepot" / "train.csv", HD_HEADER + HD_ROWS + HD_ROWS.splitlines()[0] + "\n")
    one_line_error("homedepot", tmp_path, "train.csv", "duplicate id '2'", "rows 2 and 6")
    data = wands_dir(tmp_path)
    product = data / "product.csv"
    lines = product.read_text(encoding="utf-8").splitlines()
    product.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    one_line_error("wands", tmp_path, "product.csv", "duplicate product_id '0'")


def test_duplicate_parquet_ids(tmp_path):
    data = esci_dir(tmp_path)
    path = data / "shopping_queries_dataset_examples.parquet"
    frame = pq.read_table(path).to_pandas()
    frame.loc[frame.index[1], "example_id"] = frame.example_id.iloc[0]
    frame.to_parquet(path)
    one_line_error("esci", tmp_path, "examples.parquet", "duplicate example_id")


def test_judgment_for_unknown_product(tmp_path):
    data = wands_dir(tmp_path)
    with open(data / "label.csv", "a", encoding="utf-8") as handle:
        handle.write("9\t0\t99\tExact\n")
    one_line_error("wands", tmp_path, "label.csv", "row 11", "product_id '99' is not in", "product.csv")
    data = esci_dir(tmp_path)
    path = data / "shopping_queries_dataset_examples.parquet"
    frame = pq.read_table(path).to_pandas()
    frame.loc[frame.index[0], "product_id"] = "B000NOTHERE"
    frame.to_parquet(path)
    one_line_error("esci", tmp_path, "examples.parquet", "'B000NOTHERE' is not in")


def test_bad_grade_values(tmp_path):
    write(tmp_path / "homedepot" / "train.csv", HD_HEADER + HD_ROWS + "20,100009,Hampton Bay fan,fan,high\n")
    one_line_error("homedepot", tmp_path, "train.csv", "row 6", "relevance 'high'")
    data = wands_dir(tmp_path)
    with open(data / "label.csv", "a", encoding="utf-8") as handle:
        handle.write("9\t0\t2\tMaybe\n")
    one_line_error("wands", tmp_path, "label.csv", "label 'Maybe'", "Exact")


def test_empty_products_are_dropped_and_counted(tmp_path):
    rows = HD_ROWS + "21,100010,   ,angle bracket,3\n"
    write(tmp_path / "homedepot" / "train.csv", HD_HEADER + rows)
    splits = [load("homedepot", split, data_dir=tmp_path) for split in ("test", "train")]
    assert all("100010" not in ds.corpus for ds in splits)
    assert any("1 products with empty text dropped (1 judgments)" in " ".join(ds.notes) for ds in splits)


def test_queries_without_relevant_product_are_dropped_and_counted(tmp_path):
    write(tmp_path / "homedepot" / "train.csv", HD_HEADER + HD_ROWS)
    splits = {split: load("homedepot", split, data_dir=tmp_path) for split in ("test", "dev", "train")}
    texts = {t for ds in splits.values() for t in ds.queries.values()}
    assert "rain shower head" not in texts  # its only judgment is 1.33 (gain 1)
    assert {"angle bracket", "l bracket", "deck over"} == texts
    notes = " ".join(note for ds in splits.values() for note in ds.notes)
    assert "1 of" in notes and "queries dropped: no product judged >= 4" in notes
