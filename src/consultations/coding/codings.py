"""The codings table: contract columns, empty frame and deterministic order.

Shared by the rule coder, the manual-code readers, the review decisions and the code stage.
"""

from __future__ import annotations

import pandas as pd

from consultations.core.schema import TABLES

__all__ = ["CODINGS", "empty_codings", "finish_codings"]

CODINGS = TABLES["codings"]


def empty_codings(extra: list[str] | None = None) -> pd.DataFrame:
    """Return an empty codings table with the contract columns (and ``extra`` ones)."""
    cols = CODINGS + [c for c in (extra or []) if c not in CODINGS]
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    df["negated"] = df["negated"].astype("bool")
    df["origin_line"] = df["origin_line"].astype("Int64")
    return df


def finish_codings(df: pd.DataFrame, extra: list[str] | None = None) -> pd.DataFrame:
    """Order columns and rows deterministically, with stable dtypes."""
    if df.empty:
        return empty_codings(extra)
    cols = CODINGS + [c for c in (extra or []) if c not in CODINGS]
    df = df.reindex(columns=cols)
    for c in cols:
        if c not in ("negated", "origin_line"):
            df[c] = df[c].fillna("").astype(str)
    df["negated"] = [bool(v) if pd.notna(v) else False for v in df["negated"]]
    df["origin_line"] = pd.to_numeric(df["origin_line"], errors="coerce").astype("Int64")
    return df.sort_values(["segment_id", "code_id", "source", "coder"],
                          kind="mergesort").reset_index(drop=True)
