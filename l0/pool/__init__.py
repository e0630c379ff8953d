"""Operation pools: many l0 runs through a bounded set of workers, with a queue,
backpressure, a handle per operation and live statistics.

    types.py      PoolOptions, PoolStats, the operation statuses
    operation.py  Operation: one submitted run and its result
    pool.py       OperationPool and create_pool
"""

from __future__ import annotations

from l0.pool.operation import Operation
from l0.pool.pool import OperationPool, create_pool
from l0.pool.types import OperationStatus, PoolOptions, PoolStats

__all__ = [
    "Operation",
    "OperationPool",
    "OperationStatus",
    "PoolOptions",
    "PoolStats",
    "create_pool",
]
