"""crvs-release: release management and regression gates for CRVS systems."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crvs-release")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
