"""Test setup for every test directory.

When a Hypothesis test fails, Hypothesis's pytest plugin imports ``hypothesis.extra._patching``
(libcst) to print the failing example as a patch. libcst, through mypy_extensions, emits a
DeprecationWarning at import, and the repository's ``filterwarnings = error`` turns that into a
pytest INTERNALERROR that hides the failure. Importing the module once here, with that one
warning silenced, keeps every failure report readable; no warning raised by tailmem is touched.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="mypy_extensions.TypedDict is deprecated", category=DeprecationWarning
    )
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:  # libcst missing: the plugin then skips the patch itself
        pass
