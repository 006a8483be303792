"""The pool: in order, one item's exception is its own result, local and Ray backends."""

import importlib.util
import sys

import pytest
from sandbox_helpers import PYTHON

from apprentice.errors import UnknownNameError
from apprentice.sandbox import Limits, SandboxFailure, SandboxPool, run_sandboxed


def _square_in_sandbox(item):
    number, workspace = item
    if number == 3:
        raise ValueError(f"item {number} is cursed")
    result = run_sandboxed([PYTHON, "-c", f"print({number} ** 2)"], workspace,
                           Limits(wall_seconds=30))
    return int(result.stdout)


def test_local_pool_keeps_order_and_isolates_a_failure(workspace):
    items = [(number, workspace) for number in range(8)]
    with SandboxPool(workers=4) as pool:
        results = pool.map(_square_in_sandbox, items)
    assert [r for i, r in enumerate(results) if i != 3] == [n * n for n in range(8) if n != 3]
    failure = results[3]
    assert isinstance(failure, SandboxFailure) and failure.index == 3
    assert failure.error_type == "ValueError" and "cursed" in failure.message
    assert "_square_in_sandbox" in failure.traceback


def test_pool_runs_items_concurrently(workspace):
    sleep = [PYTHON, "-c", "import time; time.sleep(1)"]
    with SandboxPool(workers=4) as pool:
        results = pool.map(lambda _: run_sandboxed(sleep, workspace), range(4))
    assert all(r.passed for r in results)
    assert max(r.duration_s for r in results) < 3.5  # serially it would take 4 s or more


def test_unknown_backend_is_named():
    with pytest.raises(UnknownNameError, match="known: local, ray"):
        SandboxPool(backend="dask")


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not installed (optional extra: pip install 'apprentice[ray]')")
def test_ray_pool_keeps_order_and_isolates_a_failure(workspace):
    from ray import cloudpickle

    # Ray workers cannot import this test module by name; ship its functions by value instead.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cloudpickle.register_pickle_by_value(sys.modules["sandbox_helpers"])
    items = [(number, workspace) for number in range(5)]
    with SandboxPool(workers=2, backend="ray") as pool:
        results = pool.map(_square_in_sandbox, items)
    assert [results[i] for i in (0, 1, 2, 4)] == [0, 1, 4, 16]
    assert isinstance(results[3], SandboxFailure) and "cursed" in results[3].message
