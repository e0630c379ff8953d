"""The runtime: a sans-I/O core per run (core.py), the anyio driver that feeds it
(driver.py), and the Stream objects users hold (stream.py)."""

from l0.runtime.api import l0, run, wrap
from l0.runtime.stream import LazyStream, Stream

__all__ = ["LazyStream", "Stream", "l0", "run", "wrap"]
