"""Bad arguments end in one `error:` line and exit 2, before any work and before any file is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    try:
        code = main(args)
    except SystemExit as stop:  # argparse exits from inside parse_args
        code = stop.code
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--k", "-5"], "argument --k: must be an integer >= 1, got '-5'"),
        (["--k", "0"], "argument --k: must be an integer >= 1"),
        (["--batch-size", "0"], "argument --batch-size: must be an integer >= 1"),
        (["--max-seq-length", "0"], "argument --max-seq-length: must be an integer between 1 and 8192"),
        (["--latency-queries", "0"], "argument --latency-queries: must be an integer >= 1"),
        (["--limit-queries", "ten"], "argument --limit-queries: must be an integer >= 1, got 'ten'"),
        (["--seed", "-1"], "argument --seed: must be an integer >= 0"),
    ],
)
def test_numbers_are_range_checked(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    code, err = run_cli(["run", "-r", "bm25", "-d", "crowdflower", "--out", str(out), *args], capsys)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and says in err[0]
    assert not out.exists()  # nothing started, nothing written


def test_paths_that_are_files_or_unwritable_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder\n")
    for option, value, says in [
        ("--out", a_file, "is a file, not a folder"),
        ("--cache-dir", a_file / "cache", "is a file, not a folder"),
        ("--cache-dir", Path("/proc/bench-cache"), "cannot write in /proc"),
        ("--data-dir", tmp_path / "nowhere", "is not a folder"),
    ]:
        code, err = run_cli(["run", "-r", "bm25", "-d", "crowdflower", option, str(value)], capsys)
        assert code == 2, option
        assert len(err) == 1 and err[0].startswith(f"error: argument {option}: ") and says in err[0], err


def test_empty_query_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(["explain", "-d", "crowdflower", "-r", "bm25", "--query", "   "], capsys)
    assert code == 2
    assert err == ["error: argument --query: is empty; type the query text, e.g. --query \"cordless drill\" "
                   "(see `python -m bench explain --help`)"]


def test_a_dataset_named_explicitly_but_missing_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # wands ships query.csv only (product.csv and label.csv need `bench data download wands`)
    out = tmp_path / "results"
    code, err = run_cli(["run", "-r", "bm25", "-d", "wands", "--out", str(out)], capsys)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: dataset wands is not ready: ")
    assert "python -m bench data download wands" in err[0]
    assert not (out / "wands").exists()


def test_unknown_command_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(["lsit"], capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: argument COMMAND: invalid choice: 'lsit'")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--dataset", "homedepot", "--batch-size", "1"], "argument --batch-size: must be an integer >= 2"),
        (["--dataset", "homedepot", "--lr", "0"], "argument --lr: must be a number > 0, got '0'"),
        (["--dataset", "homedepot", "--doc-reg=-1e-5"], "argument --doc-reg: must be a number >= 0"),
        (["--dataset", "homedepot", "--epochs", "nan"], "argument --epochs: must be a number > 0"),
        (["--dataset", "./no-such-shop"], "./no-such-shop: no such folder"),
        (["--dataset", ","], "--dataset is empty"),
    ],
)
def test_training_arguments_are_checked_before_any_work(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "model"
    code, err = run_cli(["train", "--output", str(output), *args], capsys)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and says in err[0], err
    assert not output.exists() and not output.with_name("model.partial").exists()
