"""report.md for a reader: wide tables split into narrow ones, and written whole as CSV beside."""

from __future__ import annotations

import csv

from simulations.runner import MAX_TABLE_COLUMNS, narrow_tables


def _table(cols: int, rows: int) -> list[str]:
    head = "| " + " | ".join(f"c{j}" for j in range(cols)) + " |"
    sep = "| " + " | ".join("---" for _ in range(cols)) + " |"
    body = ["| " + " | ".join(f"r{i}c{j}" for j in range(cols)) + " |" for i in range(rows)]
    return [head, sep, *body]


def test_a_wide_table_is_split_and_written_whole(tmp_path):
    wide = _table(12, 3)
    text = "\n".join(["before", "", *wide, "", "after", "", *_table(4, 2)])
    out = narrow_tables(text, tmp_path, "exp")
    # the CSV holds the whole table: header and rows, every cell
    with open(tmp_path / "exp" / "table-1.csv", newline="") as fh:
        got = list(csv.reader(fh))
    assert got[0] == [f"c{j}" for j in range(12)]
    assert got[1:] == [[f"r{i}c{j}" for j in range(12)] for i in range(3)]
    # every table of the report is narrow; every cell of the wide one is still shown, with its row
    lines = out.splitlines()
    widths = [len(line.strip().strip("|").split("|")) for line in lines if line.startswith("|")]
    assert max(widths) <= MAX_TABLE_COLUMNS
    for i in range(3):
        for j in range(12):
            assert any(line.startswith(f"| {i + 1} | r{i}c0 |") and f"r{i}c{j}" in line for line in lines)
    assert "[exp/table-1.csv](exp/table-1.csv)" in out and "12 columns" in out
    # text and narrow tables untouched, in order
    assert lines[0] == "before" and "after" in lines and "\n".join(_table(4, 2)) in out
    assert not (tmp_path / "exp" / "table-2.csv").exists()


def test_a_table_with_ragged_rows_is_left_alone(tmp_path):
    wide = _table(10, 2)
    wide[3] = wide[3][:-2] + "| extra | cell |"  # a cell holding "|" makes the row ragged
    text = "\n".join(wide)
    assert narrow_tables(text, tmp_path, "exp") == text
    assert not (tmp_path / "exp").exists()
