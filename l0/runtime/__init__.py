"""The runtime: a sans-I/O core per run (core.py), the anyio driver that feeds it
(driver.py), the Stream objects users hold (stream.py), and the one definition of the run
options every entry point takes (options.py)."""

from l0.runtime.api import l0, run, wrap
from l0.runtime.options import RunOptions
from l0.runtime.stream import LazyStream, Stream

__all__ = ["LazyStream", "RunOptions", "Stream", "l0", "run", "wrap"]
