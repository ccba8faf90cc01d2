"""Your own data as an .npz file (``--set dataset=PATH.npz``): reading, label mapping, the
held-out split, bad files, and an experiment run on it from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulations.cli import main
from simulations.data import load_dataset
from simulations.data.npz_data import HELD_OUT, load_npz


def _xy(n=50, d=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), rng.integers(0, 3, n) * 7 - 5  # labels -5, 2, 9


def test_labels_are_mapped_and_named_and_splits_kept(tmp_path):
    x, y = _xy()
    np.savez(tmp_path / "a.npz", x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])
    d = load_dataset(str(tmp_path / "a.npz"))
    assert d.classes == ("-5", "2", "9") and d.name == "a"
    np.testing.assert_array_equal(np.array(d.classes, dtype=int)[d.y_train], y[:40])
    np.testing.assert_array_equal(d.x_test, x[40:])


def test_without_a_test_split_a_fixed_fifth_is_held_out(tmp_path):
    x, y = _xy(n=50)
    np.savez(tmp_path / "b.npz", x_train=x, y_train=y)
    a, b = load_npz(str(tmp_path / "b.npz")), load_npz(str(tmp_path / "b.npz"))
    assert len(a.y_test) == round(HELD_OUT * 50) == 10 and len(a.y_train) == 40
    np.testing.assert_array_equal(a.x_test, b.x_test)  # the same rows every time
    rows = {tuple(r) for r in np.concatenate([a.x_train, a.x_test])}
    assert rows == {tuple(r) for r in x}
    assert "held out as test" in a.note


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"a": np.arange(3)}, "has no x_train, y_train (keys: a)"),
        (
            {"x_train": np.array([object()] * 3, dtype=object), "y_train": np.arange(3)},
            "holds Python objects",
        ),
        (
            {"x_train": np.ones((3, 2)), "y_train": np.arange(3), "x_test": np.ones((1, 2))},
            "both x_test and y_test",
        ),
        ({"x_train": np.full((3, 2), np.nan), "y_train": np.arange(3)}, "x_train holds NaN or inf"),
        (
            {"x_train": np.ones((3, 2)), "y_train": np.array([0.0, 1.0, 1.0])},
            "y_train must be 1-d integer labels",
        ),
        ({"x_train": np.ones((3, 2)), "y_train": np.arange(2)}, "y_train has 2 labels for 3 rows of x"),
        ({"x_train": np.ones((3, 2)), "y_train": np.zeros(3, dtype=int)}, "at least 2 classes"),
        (
            {
                "x_train": np.ones((4, 2)),
                "y_train": np.array([0, 1, 0, 1]),
                "x_test": np.ones((1, 2)),
                "y_test": np.array([7]),
            },
            "y_test holds labels absent from y_train: [7]",
        ),  # fmt: skip
        ({"x_train": np.ones(3), "y_train": np.arange(3)}, "x_train must be (n, d) numbers"),
    ],
)
def test_bad_files_are_one_line_naming_the_file(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError) as info:
        load_npz(str(tmp_path / "bad.npz"))
    assert message in str(info.value) and "bad.npz" in str(info.value) and "\n" not in str(info.value)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ValueError, match="is not a file"):
        load_npz(str(tmp_path / "none.npz"))
    (tmp_path / "c.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ValueError, match="c.npz cannot be read"):
        load_npz(str(tmp_path / "c.npz"))


def test_memorization_runs_on_your_npz_from_the_command_line(tmp_path, capsys):
    from sklearn.datasets import load_digits

    d = load_digits()
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=d.data[:300].astype(np.float32), y_train=d.target[:300] + 100)
    sets = ["dataset=" + str(path), "models=40", "epochs=2", "hidden=16", "models_per_batch=20"]
    args = ["run", "memorization", "--quick", "--out", str(tmp_path / "out")] + [
        a for s in sets for a in ("--set", s)
    ]
    assert main(args) == 0
    res = json.loads((tmp_path / "out" / "memorization" / "results.json").read_text())["results"]
    assert res["n_train"] == 240 and res["n_test"] == 60 and res["test_accuracy"]["mean"] > 0.3
    assert [p.name.split("-")[0] for p in (tmp_path / "out" / ".stores").iterdir()] == ["mine"]
    bad = [
        "run",
        "memorization",
        "--quick",
        "--out",
        str(tmp_path / "o2"),
        "--set",
        "dataset=" + str(tmp_path / "x.npz"),
    ]
    assert main(bad) == 2
    assert "is not a file" in capsys.readouterr().err and not (tmp_path / "o2").exists()
