"""Issue 15: no route of any service runs a dependency or an endpoint in the threadpool.

FastAPI runs a plain `def` dependency through `run_in_threadpool`: a hop to a worker thread and back
for every such dependency of every request — four of them on the case list, which took 4 ms of CPU
a page. Building a service object does not block, so every dependency and every endpoint is
`async def`; one that must block (a file, a CPU-bound parse) says so by handing its work to a pool
itself, where the reader can see it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.kernel.test_openapi_complete import _app


def _dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependencies(sub)


def _is_async(call: Any) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    if inspect.isfunction(call) or inspect.isclass(call):
        return False
    return inspect.iscoroutinefunction(type(call).__call__)  # a callable instance (FastAPI's security classes)


@pytest.mark.parametrize("service", ["registry", "screening", "claims"])
def test_every_dependency_and_endpoint_is_async(service: str) -> None:
    threaded: set[str] = set()
    routes = [r for r in _app(service).router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 10
    for route in routes:
        if not inspect.iscoroutinefunction(route.endpoint):
            threaded.add(f"endpoint {route.endpoint.__module__}.{route.endpoint.__qualname__}")
        for call in _dependencies(route.dependant):
            if not _is_async(call):
                threaded.add(f"dependency {getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', call)}")
    assert not threaded, sorted(threaded)
