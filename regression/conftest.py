"""Loads the suite's plugin so `python -m pytest regression --crvs-url URL` works from a checkout."""

pytest_plugins = ["regression.plugin"]
