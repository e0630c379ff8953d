"""l0: reliable LLM token streams."""

from l0._version import __version__

__all__ = ["__version__"]
