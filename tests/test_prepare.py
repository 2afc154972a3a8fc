"""Tests for the chapter-3 Lending Club preparation (harness.data.prepare)."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import output_pair
from harness.data import prepare as prep
from harness.data.prepare import (
    CATEGORIES,
    GROUP_COLUMNS,
    ID_COLUMN,
    LABEL,
    STUDY_FEATURES,
    feature_columns,
    output_columns,
    parse_emp_length,
    parse_number,
    parse_percent,
    parse_term,
    prepare_file,
    prepare_frame,
)
from harness.errors import DataError, FatelabError

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "loan_2011q4_head5k.csv"
if not SAMPLE.is_file():
    SAMPLE = Path("/work/shared/data/lending_club/loan_2011q4_head5k.csv")

EMP = ["10+ years", "< 1 year", "1 year", "3 years", "7 years"]


def loan(i: int, status: str | None = None, **overrides: str) -> dict[str, str]:
    """One raw loan.csv-style row whose study features vary with ``i``."""
    row = {
        "id": str(1000 + i),
        "member_id": str(5000 + i),
        "loan_amnt": f"{1000 + 25 * i}.0",
        "funded_amnt": f"{1000 + 25 * i}.0",
        "term": " 36 months" if i % 2 else " 60 months",
        "int_rate": f"{7 + i % 9}.{i % 10}5",
        "installment": f"{30 + i}.12",
        "grade": "AB"[i % 2],
        "emp_length": EMP[i % len(EMP)],
        "home_ownership": ["RENT", "MORTGAGE", "OWN"][i % 3],
        "annual_inc": f"{20000 + 1000 * i}.0",
        "verification_status": ["Verified", "Not Verified", "Source Verified"][i % 3],
        "loan_status": status or ("Fully Paid" if i % 3 else "Charged Off"),
        "purpose": ["car", "credit_card", "debt_consolidation", "wedding"][i % 4],
        "addr_state": ["CA", "NY", "TX"][i % 3],
        "dti": f"{i % 30}.5",
        "delinq_2yrs": str(float(i % 2)),
        "inq_last_6mths": str(float(i % 4)),
        "open_acc": str(float(3 + i % 7)),
        "pub_rec": str(float(i % 2)),
        "revol_bal": str(float(100 * i)),
        "revol_util": f"{i % 100}.5",
        "total_acc": str(float(5 + i % 11)),
        "total_pymnt": f"{1100 + i}.5",
        "policy_code": "1.0",
        "next_pymnt_d": "",
    }
    row.update(overrides)
    return row


def frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows).replace({"": None})


def write_csv(path: Path, rows: list[dict[str, str]], *, bom: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def step(card: dict, name: str) -> dict:
    return next(s for s in card["steps"] if s["name"] == name)


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("13.56", 13.56), ("13.56%", 13.56), (" 13.56 % ", 13.56), ("  9%", 9.0), ("0", 0.0), ("", None)],
)
def test_parse_percent_accepts_numbers_and_percent_strings(text: str, expected: float | None) -> None:
    assert parse_percent(text) == expected


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "1_000", "13.5%%", "%"])
def test_parse_percent_rejects_non_numbers(text: str) -> None:
    with pytest.raises(ValueError):
        parse_percent(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10+ years", 10),
        ("< 1 year", 0),
        ("1 year", 1),
        ("3 years", 3),
        (" 7 years ", 7),
        ("4", 4),
        ("n/a", None),
    ],
)
def test_parse_emp_length(text: str, expected: int | None) -> None:
    assert parse_emp_length(text) == expected


def test_parse_term_and_number() -> None:
    assert parse_term(" 36 months") == 36
    assert parse_term("60 months") == 60
    assert parse_number(" 5000.0 ") == 5000.0
    for bad in ("36 weeks", "forever"):
        with pytest.raises(ValueError):
            parse_term(bad)
    with pytest.raises(ValueError):
        parse_emp_length("ten years")


def test_percent_strings_in_a_frame_give_the_same_numbers_as_plain_ones() -> None:
    rows = [loan(i) for i in range(12)]
    with_percent = [dict(r, int_rate=r["int_rate"] + "%", revol_util=f" {r['revol_util']} %") for r in rows]
    plain = prepare_frame(frame(rows)).frame
    percent = prepare_frame(frame(with_percent)).frame
    pd.testing.assert_frame_equal(plain, percent)
    assert plain["int_rate"].tolist() == [float(r["int_rate"]) for r in rows]


def test_parsed_values_and_documented_columns() -> None:
    rows = [loan(i) for i in range(10)]
    out = prepare_frame(frame(rows)).frame
    assert list(out.columns) == output_columns()
    assert out[ID_COLUMN].tolist() == list(range(10))
    assert out["term"].tolist() == [60 if i % 2 == 0 else 36 for i in range(10)]
    assert out["emp_length"].tolist() == [[10, 0, 1, 3, 7][i % 5] for i in range(10)]
    assert out["revol_util"].tolist() == [float(r["revol_util"]) for r in rows]
    assert out["addr_state"].tolist() == [r["addr_state"] for r in rows]
    assert feature_columns(out.columns) == [
        c for c in out.columns if c not in (ID_COLUMN, LABEL, "addr_state")
    ]
    assert not set(feature_columns(out.columns)) & {ID_COLUMN, LABEL, *GROUP_COLUMNS}


# --- step 1: label -----------------------------------------------------------------------------


def test_label_mapping_and_dropped_statuses_counted() -> None:
    statuses = [
        "Fully Paid", "Charged Off", "Current", "Fully Paid", "Charged Off", "Late (31-120 days)",
        "Does not meet the credit policy. Status:Fully Paid", "Fully Paid", "Default", "Charged Off",
        "Does not meet the credit policy. Status:Charged Off", "Current", "Fully Paid",
    ]  # fmt: skip
    rows = [loan(i, s) for i, s in enumerate(statuses)]
    result = prepare_frame(frame(rows))
    out, card = result.frame, result.card
    finished = [i for i, s in enumerate(statuses) if s in ("Fully Paid", "Charged Off")]
    # loan_amnt is unique per input row, so it identifies which rows survived with which label.
    by_amount = {float(rows[i]["loan_amnt"]): 1 if statuses[i] == "Fully Paid" else 0 for i in finished}
    assert dict(zip(out["loan_amnt"], out[LABEL], strict=True)) == by_amount
    assert card["label_counts_dropped"] == {
        "Current": 2,
        "Default": 1,
        "Does not meet the credit policy. Status:Charged Off": 1,
        "Does not meet the credit policy. Status:Fully Paid": 1,
        "Late (31-120 days)": 1,
    }
    assert step(card, "label")["rows_in"] == len(statuses)
    assert step(card, "label")["rows_out"] == len(finished)
    assert card["class_balance"] == {"1": 4, "0": 3}


# --- steps 2-4: columns ------------------------------------------------------------------------


def test_missingness_rule_counts_finished_loans_only() -> None:
    rows = [loan(i) for i in range(9)]  # 9 finished loans
    for i, row in enumerate(rows):
        row["third_missing"] = "" if i < 3 else "x" if i % 2 else "y"  # exactly 1/3: kept by this rule
        row["over_third"] = "" if i < 4 else "x" if i % 2 else "y"  # 4/9 > 1/3: dropped
    # Current loans fill next_pymnt_d and over_third and leave third_missing empty: no effect allowed.
    current = [
        loan(100 + i, "Current", next_pymnt_d="Feb-2016", third_missing="", over_third="z") for i in range(30)
    ]
    card = prepare_frame(frame(rows + current)).card
    dropped = step(card, "column_missingness")["dropped_columns"]
    assert dropped["over_third"] == "missing > 1/3"
    assert dropped["next_pymnt_d"] == "missing > 1/3"
    assert "third_missing" not in dropped
    assert step(card, "feature_selection")["dropped_columns"]["third_missing"] == "not a study feature"
    assert card["rows_out"] == 9


def test_single_value_rule_over_finished_loans_ignoring_whitespace() -> None:
    rows = [
        loan(i, pymnt_plan=" n" if i % 2 else "n", flag="a" if i else "b", initial_list_status="f")
        for i in range(9)
    ]
    current = [loan(50 + i, "Current", initial_list_status="w", flag="c") for i in range(3)]
    card = prepare_frame(frame(rows + current)).card
    dropped = step(card, "single_value")["dropped_columns"]
    assert dropped == {c: "single value" for c in ("policy_code", "pymnt_plan", "initial_list_status")}
    assert "flag" in step(card, "feature_selection")["dropped_columns"]


def test_feature_selection_reasons() -> None:
    rows = [loan(i, url=f"u{i}", sub_grade=f"A{i % 5}", last_pymnt_d=f"Jan-201{i % 5}") for i in range(9)]
    dropped = step(prepare_frame(frame(rows)).card, "feature_selection")["dropped_columns"]
    assert dropped["id"] == dropped["member_id"] == dropped["url"] == "identifier"
    leakage = "leakage: known only after the loan"
    assert dropped["total_pymnt"] == dropped["last_pymnt_d"] == leakage
    assert dropped["grade"] == dropped["sub_grade"] == dropped["funded_amnt"] == "not a study feature"
    assert not set(dropped) & set(STUDY_FEATURES)


def test_mostly_empty_column_is_dropped_without_costing_rows() -> None:
    rows = [loan(i) for i in range(30)]
    for i, row in enumerate(rows):
        row["mths_since_last_delinq"] = str(i) if i % 5 == 0 else ""  # 80 % empty
    rows[7]["emp_length"] = "n/a"  # one row really is incomplete
    with_column = prepare_frame(frame(rows))
    without_column = prepare_frame(
        frame([{k: v for k, v in r.items() if k != "mths_since_last_delinq"} for r in rows])
    )
    assert with_column.card["rows_out"] == without_column.card["rows_out"] == 29
    pd.testing.assert_frame_equal(with_column.frame, without_column.frame)
    drop = step(with_column.card, "drop_missing_rows")
    assert drop["missing_by_column"] == {"emp_length": 1}
    assert step(with_column.card, "parse")["values_made_missing"] == {"emp_length": 1}


def test_dropping_a_study_feature_is_an_error() -> None:
    rows = [loan(i) for i in range(9)]
    for row in rows[:4]:
        row["revol_util"] = ""
    with pytest.raises(DataError, match=r"revol_util \(missing > 1/3: 4 of 9"):
        prepare_frame(frame(rows))
    single = [loan(i, pub_rec="0.0") for i in range(9)]
    with pytest.raises(DataError, match=r"pub_rec \(single value\)"):
        prepare_frame(frame(single))


# --- steps 6-7: values and one-hot ---------------------------------------------------------------


def test_one_hot_columns_are_identical_across_category_subsets() -> None:
    first = [
        loan(i, home_ownership="RENT" if i % 2 else "OWN", purpose="car" if i % 2 else "wedding")
        for i in range(8)
    ]
    second = [
        loan(
            i,
            home_ownership="NONE" if i % 2 else "ANY",
            purpose="educational" if i % 2 else "house",
            verification_status="Verified" if i % 2 else "Source Verified",
        )
        for i in range(8)
    ]
    a, b = prepare_frame(frame(first)).frame, prepare_frame(frame(second)).frame
    assert list(a.columns) == list(b.columns) == output_columns()
    for out, rows in ((a, first), (b, second)):
        for column, categories in CATEGORIES.items():
            block = out[[prep.one_hot_column(column, c) for c in categories]]
            assert set(np.unique(block.to_numpy())) <= {0, 1}
            assert (block.sum(axis=1) == 1).all()
            chosen = [categories[k] for k in block.to_numpy().argmax(axis=1)]
            assert chosen == [r[column] for r in rows]
    assert a["home_ownership_ANY"].sum() == 0 and b["home_ownership_ANY"].sum() == 4
    assert "verification_status_Source_Verified" in a.columns


def test_unknown_category_is_an_error_naming_the_value() -> None:
    rows = [loan(i) for i in range(9)]
    rows[4]["home_ownership"] = "RENTAL"
    with pytest.raises(DataError, match=r"home_ownership.*'RENTAL'.*ANY, MORTGAGE"):
        prepare_frame(frame(rows))


def test_unparseable_number_is_an_error_naming_the_value() -> None:
    rows = [loan(i) for i in range(9)]
    rows[2]["annual_inc"] = "lots"
    with pytest.raises(DataError, match=r"annual_inc.*'lots'"):
        prepare_frame(frame(rows))


def test_one_class_only_in_a_frame() -> None:
    with pytest.raises(DataError, match=r"no 'Charged Off' \(label 0\)"):
        prepare_frame(frame([loan(i, "Fully Paid") for i in range(9)]))


# --- files: good input ----------------------------------------------------------------------------


def test_prepare_file_with_bom_percent_and_quoted_newlines(tmp_path: Path) -> None:
    rows = [loan(i, int_rate=f"{7 + i % 9}.{i % 10}5%", desc=f"line one\nline, two {i}") for i in range(12)]
    source = write_csv(tmp_path / "loan.csv", rows, bom=True)
    card = prepare_file(source, tmp_path / "out")
    out = pd.read_csv(tmp_path / "out" / "prepared.csv")
    assert list(out.columns) == output_columns()
    assert card["input"]["columns"][0] == "id"  # the BOM is not part of the first name
    assert out["int_rate"].tolist() == [float(r["int_rate"].rstrip("%")) for r in rows]
    assert card["rows_in"] == 12 and card["rows_out"] == len(out) == 12
    assert card["input"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert card["input"]["bytes"] == source.stat().st_size
    assert json.loads((tmp_path / "out" / "data_card.json").read_text()) == card
    assert sorted(os.listdir(tmp_path / "out")) == ["data_card.json", "prepared.csv"]


# --- files: bad input ----------------------------------------------------------------------------


def _fails_without_output(source: Path, out: Path, pattern: str) -> None:
    before = sorted(os.listdir(out)) if out.exists() else None
    with pytest.raises(DataError, match=pattern):
        prepare_file(source, out)
    after = sorted(os.listdir(out)) if out.exists() else None
    assert after == before


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "prepared.csv").write_text("old\n")  # an earlier run's output must survive a failed one
    return out


def test_missing_columns_are_all_named(tmp_path: Path, out_dir: Path) -> None:
    rows = [{k: v for k, v in loan(i).items() if k not in ("int_rate", "addr_state")} for i in range(9)]
    source = write_csv(tmp_path / "loan.csv", rows)
    _fails_without_output(source, out_dir, r"lacks 2 required column\(s\): int_rate, addr_state")
    assert (out_dir / "prepared.csv").read_text() == "old\n"


def test_empty_file(tmp_path: Path, out_dir: Path) -> None:
    source = tmp_path / "loan.csv"
    source.write_bytes(b"")
    _fails_without_output(source, out_dir, r"is empty")
    _fails_without_output(source, tmp_path / "never_created", r"is empty")
    assert not (tmp_path / "never_created").exists()


def test_header_only(tmp_path: Path, out_dir: Path) -> None:
    source = tmp_path / "loan.csv"
    source.write_text(",".join(loan(0)) + "\n")
    _fails_without_output(source, out_dir, r"no data rows")


def test_binary_garbage(tmp_path: Path, out_dir: Path) -> None:
    source = tmp_path / "loan.csv"
    source.write_bytes(np.random.default_rng(0).bytes(50_000))
    _fails_without_output(source, out_dir, r"not a CSV file \(it contains binary data\)")
    no_nul = tmp_path / "latin.csv"
    no_nul.write_bytes(bytes(range(1, 256)) * 100)
    _fails_without_output(no_nul, out_dir, r"not UTF-8 text")


def test_ragged_rows_are_unparseable(tmp_path: Path, out_dir: Path) -> None:
    source = write_csv(tmp_path / "loan.csv", [loan(i) for i in range(9)])
    with source.open("a") as fh:
        fh.write("1,2,3\n")
    _fails_without_output(source, out_dir, r"cannot be parsed as CSV: line 11: the row has 3 field\(s\) where")


def test_one_class_only_file(tmp_path: Path, out_dir: Path) -> None:
    rows = [loan(i, "Charged Off" if i % 2 else "Current") for i in range(9)]
    source = write_csv(tmp_path / "loan.csv", rows)
    _fails_without_output(source, out_dir, r"no 'Fully Paid' \(label 1\) loans after labelling")


def test_failed_write_leaves_nothing_behind(tmp_path: Path, out_dir: Path, monkeypatch) -> None:
    source = write_csv(tmp_path / "loan.csv", [loan(i) for i in range(9)])

    def broken_card(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output_pair.json, "dumps", broken_card)
    with pytest.raises(FatelabError, match="No space left on device") as caught:
        prepare_file(source, out_dir)
    assert caught.value.hint and caught.value.exit_code == 2
    assert sorted(os.listdir(out_dir)) == ["prepared.csv"]
    assert (out_dir / "prepared.csv").read_text() == "old\n"
    with pytest.raises(FatelabError, match="No space left on device"):
        prepare_file(source, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


# --- the real 4,999-row sample -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    out = tmp_path_factory.mktemp("real")
    card = prepare_file(SAMPLE, out, chunk_rows=500)  # several streaming batches
    prepared = pd.read_csv(out / "prepared.csv", dtype={"addr_state": str})
    raw = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    return card, prepared, raw


def test_real_sample_invariants(real) -> None:
    card, prepared, raw = real
    status = raw[LABEL].str.strip()
    finished = raw[status.isin(["Fully Paid", "Charged Off"])]
    kept = [*STUDY_FEATURES, *GROUP_COLUMNS]
    incomplete = (finished[kept].apply(lambda c: c.str.strip() == "")).any(axis=1)
    incomplete |= finished["emp_length"].str.strip() == "n/a"
    assert card["rows_in"] == len(raw) == 4999
    assert step(card, "label")["rows_out"] == (status == "Fully Paid").sum() + (status == "Charged Off").sum()
    assert card["rows_out"] == len(finished) - incomplete.sum() == len(prepared)
    assert list(prepared.columns) == output_columns() == card["columns"]
    assert card["features"] == feature_columns(prepared.columns)
    assert not prepared.isna().any().any()
    assert set(prepared[LABEL].unique()) == {0, 1}
    assert prepared[ID_COLUMN].tolist() == list(range(len(prepared)))
    expected_labels = (finished.loc[~incomplete, LABEL].str.strip() == "Fully Paid").astype(int)
    assert prepared[LABEL].tolist() == expected_labels.tolist()
    assert card["class_balance"] == {"1": int(expected_labels.sum()), "0": int((expected_labels == 0).sum())}
    assert prepared["int_rate"].tolist() == finished.loc[~incomplete, "int_rate"].astype(float).tolist()
    assert [s["name"] for s in card["steps"]] == [
        "label", "column_missingness", "single_value", "feature_selection", "parse", "drop_missing_rows",
        "plausibility", "one_hot",
    ]  # fmt: skip
    assert (
        card["label_counts_dropped"]
        == status[~status.isin(["Fully Paid", "Charged Off"])].value_counts().to_dict()
    )
    dropped = {c for s in card["steps"][:4] for c in s["dropped_columns"]}
    assert dropped == set(raw.columns) - {*kept, LABEL}
    assert card["input"]["sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()


def test_streaming_file_and_in_memory_frame_agree(real) -> None:
    card, prepared, raw = real
    as_strings = prepare_frame(raw.replace({"": None}))
    assert as_strings.card["steps"] == card["steps"]
    pd.testing.assert_frame_equal(as_strings.frame, prepared, check_dtype=False)
    # pandas' own typing (floats, 'n/a' read as NaN) must not change the result either.
    in_memory = prepare_frame(pd.read_csv(SAMPLE, low_memory=False))
    assert in_memory.card["rows_out"] == card["rows_out"]
    pd.testing.assert_frame_equal(
        in_memory.frame.astype({c: float for c in prep.NUMERIC_FEATURES}),
        prepared.astype({c: float for c in prep.NUMERIC_FEATURES}),
        check_dtype=False,
    )


def test_benchmark_input_is_a_seeded_resample_of_the_sample(tmp_path: Path) -> None:
    from harness.benchmarks import prepare_bench

    a = prepare_bench.build_input(SAMPLE, 300, tmp_path / "a.csv", seed=1)
    b = prepare_bench.build_input(SAMPLE, 300, tmp_path / "b.csv", seed=1)
    c = prepare_bench.build_input(SAMPLE, 300, tmp_path / "c.csv", seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    sample_lines = SAMPLE.read_bytes().splitlines()
    lines = a.read_bytes().splitlines()
    assert lines[0] == sample_lines[0] and len(lines) == 301
    assert set(lines[1:]) <= set(sample_lines[1:])
