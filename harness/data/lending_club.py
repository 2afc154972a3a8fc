"""The Lending Club ``loan.csv`` as the study reads it: which columns it keeps and why it drops the rest.

These are the rules of chapter 3, as data: the label mapping, the 17 study features with the fixed
category lists of the categorical ones, the group column, the reasons a column is dropped, and the
notes the data card carries to explain the choices. Nothing here reads a file.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import DataError

LABEL = "loan_status"
ID_COLUMN = "sample_id"
GROUP_COLUMNS: tuple[str, ...] = ("addr_state",)
POSITIVE_STATUS = "Fully Paid"
NEGATIVE_STATUS = "Charged Off"
LABEL_MAP: dict[str, int] = {POSITIVE_STATUS: 1, NEGATIVE_STATUS: 0}

STUDY_FEATURES: tuple[str, ...] = (
    "loan_amnt",
    "term",
    "int_rate",
    "installment",
    "emp_length",
    "home_ownership",
    "annual_inc",
    "verification_status",
    "purpose",
    "dti",
    "delinq_2yrs",
    "inq_last_6mths",
    "open_acc",
    "pub_rec",
    "revol_bal",
    "revol_util",
    "total_acc",
)

# Every value Lending Club used in 2007-2015, so that the one-hot columns are the same for any
# subset of the data (a state, a year, the 5k sample) and models trained on different parties align.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "home_ownership": ("ANY", "MORTGAGE", "NONE", "OTHER", "OWN", "RENT"),
    "verification_status": ("Not Verified", "Source Verified", "Verified"),
    "purpose": (
        "car",
        "credit_card",
        "debt_consolidation",
        "educational",
        "home_improvement",
        "house",
        "major_purchase",
        "medical",
        "moving",
        "other",
        "renewable_energy",
        "small_business",
        "vacation",
        "wedding",
    ),
}

NUMERIC_FEATURES: tuple[str, ...] = tuple(f for f in STUDY_FEATURES if f not in CATEGORIES)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(f for f in STUDY_FEATURES if f in CATEGORIES)
REQUIRED_COLUMNS: tuple[str, ...] = (*STUDY_FEATURES, *GROUP_COLUMNS, LABEL)
# Counted in whole units; prepared.csv writes them as integers.
INTEGER_FEATURES = frozenset({"term", "emp_length"})

REASON_MISSING = "missing > 1/3"
REASON_SINGLE = "single value"
REASON_IDENTIFIER = "identifier"
REASON_LEAKAGE = "leakage: known only after the loan"
REASON_NOT_STUDY = "not a study feature"
REASON_ONE_HOT = "replaced by one-hot columns"

IDENTIFIER_COLUMNS = frozenset({"id", "member_id", "url", "zip_code", "emp_title", "title", "desc"})
# Payment history, collections and post-issuance events: all recorded after the outcome is known.
LEAKAGE_COLUMNS = frozenset(
    {"recoveries", "next_pymnt_d", "last_credit_pull_d", "pymnt_plan", "debt_settlement_flag"}
)
LEAKAGE_PREFIXES = (
    "out_prncp",
    "total_pymnt",
    "total_rec_",
    "collection_recovery",
    "last_pymnt_",
    "last_fico_",
    "hardship_",
    "settlement_",
    "debt_settlement_",
)

NOTES: tuple[str, ...] = (
    "Column missingness (step 2) and single-value checks (step 3) are computed over finished loans "
    "(Fully Paid / Charged Off) only: in the full loan.csv next_pymnt_d is empty for every finished "
    "loan and filled for current ones, so deciding on all 887,379 rows and then dropping rows with "
    "missing values would lose every finished loan.",
    "Rows with missing values are dropped (drop_missing_rows) after feature selection, so no finished "
    "loan is lost to a column that is dropped anyway; parsing runs before that step so that "
    "emp_length 'n/a' becomes missing and its rows are counted there.",
    "funded_amnt, funded_amnt_inv: dropped as 'not a study feature'. They are fixed at issuance "
    "(not outcome leakage) but are Lending Club / investor decisions taken after the application "
    "and nearly duplicate loan_amnt.",
    "grade, sub_grade: dropped as 'not a study feature'. They are Lending Club's own risk score; "
    "keeping them would make the study model learn Lending Club's model. int_rate, a study feature, "
    "is set from sub_grade, so part of that score remains through int_rate.",
    "Leakage (payment history, recoveries, next/last payment and credit-pull dates, pymnt_plan) is "
    "recorded only after the loan was issued and partly after its outcome.",
    "Categorical values outside CATEGORIES are an error naming the value, never extra columns; the "
    "one-hot columns are identical for every input. One-hot column names are "
    "'<column>_<category>' with spaces in the category replaced by '_'.",
    "sample_id is a new 0..n-1 row number in input order; Lending Club's id and member_id are dropped.",
    "Steps 2-3 count a field as missing when it is empty (as pandas reads it); a whitespace-only "
    "value of a kept column becomes missing when parsed and its row is dropped in drop_missing_rows. "
    "Distinct values are compared after trimming surrounding whitespace.",
    "Numbers must be finite: a value such as 1e999 (infinite as a float) is an error naming the "
    "column, like 'inf' or 'nan' written out.",
    "plausibility drops complete rows with a value outside wide, documented ranges (harness/data/plausible.py: "
    "Lending Club's product rules or the field's meaning, e.g. annual_inc >= 0, emp_length 0-10, term "
    "36 or 60); rows_dropped_by_rule lists every rule, a row breaking several is counted under each.",
)

def one_hot_column(column: str, category: str) -> str:
    """Name of the 0/1 column for ``category`` of ``column`` (spaces become '_' for FATE headers)."""
    return f"{column}_{category.replace(' ', '_')}"


def one_hot_columns() -> list[str]:
    """Every one-hot column, for every category whether or not the input has it."""
    return [one_hot_column(col, cat) for col in CATEGORICAL_FEATURES for cat in CATEGORIES[col]]


def output_columns() -> list[str]:
    """The columns of prepared.csv, in order."""
    return [ID_COLUMN, *NUMERIC_FEATURES, *one_hot_columns(), *GROUP_COLUMNS, LABEL]


def feature_columns(frame_columns: Iterable[str]) -> list[str]:
    """The model feature columns of a prepared frame: everything but the id, the label and groups."""
    excluded = {ID_COLUMN, LABEL, *GROUP_COLUMNS}
    return [c for c in frame_columns if c not in excluded]


def selection_reason(column: str) -> str:
    """Why feature selection drops ``column`` (only called for columns that are not kept)."""
    if column in IDENTIFIER_COLUMNS:
        return REASON_IDENTIFIER
    if column in LEAKAGE_COLUMNS or column.startswith(LEAKAGE_PREFIXES):
        return REASON_LEAKAGE
    return REASON_NOT_STUDY

def check_required_columns(columns: Iterable[str], source: str) -> None:
    """Refuse an input without every column the study keeps, naming each one missing."""
    present = set(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        raise DataError(
            f"{source} lacks {len(missing)} required column(s): {', '.join(missing)}",
            hint="supply the Kaggle Lending Club loan.csv (74 columns) or a file with at least "
            f"these columns: {', '.join(REQUIRED_COLUMNS)}",
        )
