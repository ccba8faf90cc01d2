"""Helpers of the subset-training tests (imported by name: pytest puts this folder on sys.path)."""

import pytest

from simulations.training.problem import subset_run

# digits (1,437 training images, no files), 400 of them, tiny MLPs: a whole run takes ~2 s
SMALL = {
    "dataset": "digits",
    "train_size": 400,
    "hidden": (16,),
    "models": 24,
    "epochs": 2,
    "batch_size": 64,
    "lr": 0.1,
    "models_per_batch": 8,
}


class Killed(BaseException):
    """Stands for a kill: a BaseException, so no handler of the code under test catches it."""


def killed_and_resumed(cfg, folder, *, after: str = "models 16/", log=lambda _m: None):
    """Run ``cfg`` into ``folder``, killed when its progress log first starts with ``after``, then
    run it again there (the resume, logging to ``log``); returns the resumed run."""

    def kill(msg: str) -> None:
        if msg.startswith(after):
            raise Killed

    with pytest.raises(Killed):
        subset_run(cfg, folder, log=kill)
    return subset_run(cfg, folder, log=log)
