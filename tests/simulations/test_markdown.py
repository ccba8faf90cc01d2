"""The one markdown-table writer of the reports (simulations/markdown.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulations.markdown import cell, cells, row, table
from simulations.runner import MAX_TABLE_COLUMNS, narrow_tables


def test_table_writes_header_rule_and_rows():
    lines = table(["a", "b"], [[1, "x"], ["", 2.5]])
    assert lines == ["| a | b |", "| --- | --- |", "| 1 | x |", "|  | 2.5 |"]
    assert table(["only"]) == ["| only |", "| --- |"]


def test_a_bar_inside_a_cell_is_escaped_and_read_back():
    # the claims E[D(x) | S] and the NLP quantity P(y|x) split their rows before
    line = row(["E[D(x) | S]", "P(y|x)"])
    assert line == r"| E[D(x) \| S] | P(y\|x) |"
    assert cells(line) == ["E[D(x) | S]", "P(y|x)"]


@given(st.lists(st.text(alphabet="ab |\\-1.", max_size=8).map(str.strip), min_size=1, max_size=6))
def test_cells_inverts_row(values):
    assert cells(row(values)) == values


def test_a_row_of_the_wrong_width_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"row 1 has 1 cells, the header 2"):
        table(["a", "b"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="at least 1 column"):
        table([])


def test_cell_formats_or_marks_missing():
    assert cell(0.123456, ".3f") == "0.123" and cell(None, ".3f") == "—" and cell(None, missing="") == ""
    assert cell(7) == "7"


def test_narrow_tables_keeps_escaped_bars_in_their_cells(tmp_path):
    width = MAX_TABLE_COLUMNS + 2
    header = [f"c{i}" for i in range(width)]
    body = ["P(y|x)", *(str(i) for i in range(1, width))]
    text = "\n".join(table(header, [body]))
    out = narrow_tables(text, tmp_path, "exp")
    assert r"| 1 | P(y\|x) | 1 |" in out  # the row number, the first column, then its share
    csv_text = (tmp_path / "exp" / "table-1.csv").read_text()
    assert csv_text.splitlines()[1].startswith("P(y|x),1,")
