"""All figures of the toolkit, drawn from saved results (never from a run's memory).

The library never calls ``plt.show()``; each function writes PNG files into a folder and returns
their names. One module per family of experiments; every figure is drawn to the standard of
docs/figures.md with the helpers of :mod:`simulations.plots.style` and saved through ``save``
(which runs :func:`check_figure` when ``TAILMEM_CHECK_FIGURES=1``).
"""

from simulations.plots.check import check_figure
from simulations.plots.common import save
from simulations.plots.composition import composition_linear_figures
from simulations.plots.feldman import feldman_bound_figures, feldman_examples_figure
from simulations.plots.gaussian import gaussian_coupling_figures, gaussian_dp_figures
from simulations.plots.gaussian_tail import gaussian_tail_figures

__all__ = [
    "save",
    "check_figure",
    "composition_linear_figures",
    "feldman_examples_figure",
    "feldman_bound_figures",
    "gaussian_tail_figures",
    "gaussian_coupling_figures",
    "gaussian_dp_figures",
]
