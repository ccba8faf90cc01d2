r"""SST-2 (GLUE) from its TSV files, and the sentence-level training split of Zheng & Jiang (2022).

GLUE's SST-2 ``train.tsv`` holds 67,349 labelled rows: the full training sentences of the Stanford
Sentiment Treebank *and* the phrases of their parse trees (every phrase is a contiguous span of
the tokens of its sentence). Zheng & Jiang (2022, arXiv 2203.12171; docs/references.md §5) train
on the 6,920 full sentences. The rule used here to recover them:

    a training row is a **sentence** iff its whitespace-token sequence is not a contiguous proper
    sub-sequence of the token sequence of any other training row.

On the GLUE file (sha256 48eac263...) this keeps **6,885** rows (3,595 positive, 3,290 negative),
none duplicated and none in ``dev.tsv``; 35 fewer than the paper's 6,920 (full sentences that
also occur as a span of a longer sentence are dropped by the rule). The dev split (872 labelled
sentences) is the evaluation set; GLUE's ``test.tsv`` has no labels.

Files: ``<data_dir>/sst2/{train,dev}.tsv``, a header ``sentence<TAB>label`` then one row per
line, label 0 (negative) or 1 (positive). Origin and checksums: shared/data/SOURCES.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulations.data.dataset import DataFileMissingError, resolve_data_dir

__all__ = ["SST2", "SST2_SOURCE", "read_sst2_tsv", "sentence_rows", "load_sst2"]

SST2_SOURCE = (
    "GLUE SST-2, e.g. github.com/xszheng2020/memorization (sst/data/SST-2/); see shared/data/SOURCES.md"
)


@dataclass(frozen=True, eq=False)
class SST2:
    """Texts and labels of the training sentences and the dev split.

    ``train_text`` (n,) and ``dev_text`` (k,) are lists of str (as in the TSV, stripped);
    ``y_train`` (n,) and ``y_dev`` (k,) int64 in {0, 1}; ``train_rows`` (n,) the 0-based data-row
    numbers in ``train.tsv`` (header excluded) of the kept rows, increasing.
    """

    train_text: list[str]
    y_train: np.ndarray
    dev_text: list[str]
    y_dev: np.ndarray
    train_rows: np.ndarray
    note: str


def read_sst2_tsv(path: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """(sentences, labels int64) of a labelled SST-2 TSV file; ValueError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataFileMissingError(f"{path} not found; it is {SST2_SOURCE}")
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    if lines[0].rstrip("\r") != "sentence\tlabel":
        raise ValueError(f"{path}: header must be 'sentence<TAB>label'; got {lines[0][:60]!r}")
    text, labels = [], []
    for no, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2 or parts[1] not in ("0", "1") or not parts[0].strip():
            raise ValueError(f"{path}: line {no} is not 'sentence<TAB>0|1': {line[:60]!r}")
        text.append(parts[0].strip())
        labels.append(int(parts[1]))
    if not text:
        raise ValueError(f"{path}: holds no rows")
    return text, np.asarray(labels, dtype=np.int64)


def sentence_rows(rows: list[str]) -> np.ndarray:
    """Indices (increasing) of the rows whose token sequence is no contiguous proper sub-sequence
    of another row's token sequence (tokens: ``str.split()``). Identical rows are kept once
    (the first). Cost: sum over rows of len^2 / 2 set look-ups."""
    toks = [r.split() for r in rows]
    joined = [" ".join(t) for t in toks]
    present = set(joined)
    inside = set()
    for t in toks:
        m = len(t)
        for a in range(m):
            for b in range(a + 1, m + 1 if a else m):  # every span but the whole row
                span = " ".join(t[a:b])
                if span in present:
                    inside.add(span)
    seen: set[str] = set()
    keep = []
    for i, s in enumerate(joined):
        if s not in inside and s not in seen:
            keep.append(i)
            seen.add(s)
    return np.asarray(keep, dtype=np.int64)


def load_sst2(data_dir: str | os.PathLike[str] | None = None, *, sentences_only: bool = True) -> SST2:
    """SST-2 from ``data_dir/sst2/`` (default ``$TAILMEM_DATA``): training sentences and dev.

    ``sentences_only=False`` keeps all GLUE training rows (phrases included).
    """
    root = resolve_data_dir(data_dir) / "sst2"
    text, y = read_sst2_tsv(root / "train.tsv")
    dev_text, y_dev = read_sst2_tsv(root / "dev.tsv")
    rows = sentence_rows(text) if sentences_only else np.arange(len(text))
    what = "sentence-level rows (no row is a token span of another)" if sentences_only else "all rows"
    note = (
        f"GLUE SST-2 train.tsv: {len(rows):,} of {len(text):,} {what}; dev.tsv: {len(dev_text):,} "
        "sentences as the evaluation set"
    )
    return SST2([text[i] for i in rows], y[rows], dev_text, y_dev, rows, note)
