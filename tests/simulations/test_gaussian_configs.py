"""The fields the three Gaussian-mixture experiments share (the mixture, the sample, the trials) are
checked by one function, ``trials.check_mixture_fields``; each config refuses a bad value in one line
naming the field. The fields of each experiment's own learners are tested beside the experiment."""

import dataclasses

import pytest

from simulations.gaussian.coupling_config import GaussianCoupling
from simulations.gaussian.dp_config import GaussianDP
from simulations.gaussian.tail_config import GaussianTail

BAD_SHARED_FIELDS = [
    ("exponent", -0.5),
    ("exponent", float("nan")),
    ("N", 1),
    ("n", 2),
    ("dim", 0),
    ("classes", 1),
    ("scale", 0.0),
    ("separation", -1.0),
    ("placement", "cube"),
    ("label_mode", "random"),
    ("noise", 1.0),
    ("trials", 1),
    ("n_test", 5),
    ("seed", -1),
]


@pytest.mark.parametrize("config", [GaussianTail, GaussianCoupling, GaussianDP], ids=lambda c: c.__name__)
@pytest.mark.parametrize("field, value", BAD_SHARED_FIELDS)
def test_every_gaussian_config_refuses_a_bad_shared_field_naming_it(config, field, value):
    good = config()  # the defaults are valid
    with pytest.raises(ValueError, match=f"^{field}"):
        dataclasses.replace(good, **{field: value})
