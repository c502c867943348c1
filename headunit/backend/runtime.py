"""How a backend process runs with thousands of sockets: its event loop, its JSON codec
and its garbage collector (the figures behind each choice are in BENCHMARKS.md)."""

from __future__ import annotations

import gc
import json
from collections.abc import Coroutine
from typing import Any

import engineio.json
import orjson
import uvloop

# Young objects are collected every 50,000 allocations instead of 700, and the older
# generations less often in proportion: with thousands of sockets alive, each pass
# walks them all, and the default thresholds made those passes the server's tail
# latency and a third of its CPU.
GC_THRESHOLDS = (50_000, 50, 100)


def run(main: Coroutine[Any, Any, None]) -> None:
    """On uvloop's event loop (libuv), which spends less per packet than asyncio's."""
    uvloop.run(main)


def settle_collector() -> None:
    """Once started: what exists now (modules, the app, its routes) lives as long as the
    process, so it is frozen out of every later collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Json:
    """The codec python-socketio encodes and decodes packets with: orjson, and the
    standard module (with engine.io's guard against huge integers) for what orjson
    refuses, so a payload decodes as before: a NaN still reaches the validation that
    answers it with an `error` event. The libraries keep it process-wide (a class
    attribute), so only `headunit backend`'s own processes set it, never a process that
    also holds a car's link."""

    @staticmethod
    def dumps(value: Any, **options: Any) -> str:
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # a key that is not a string, an integer past 64 bits
            return json.dumps(value, **options)

    @staticmethod
    def loads(text: str | bytes, **options: Any) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return engineio.json.loads(text, **options)
