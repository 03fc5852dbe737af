"""Shared test configuration.

Hypothesis runs derandomised (a fixed sequence of examples) so that CI is reproducible; run
``pytest --hypothesis-profile=explore`` to search with fresh randomness.
"""

import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile(
    "default",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
