"""Loads the suite's plugin so `python -m pytest regression --crvs-target PROFILE.json` works from a checkout."""

pytest_plugins = ["regression.plugin"]
