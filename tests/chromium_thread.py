"""Debian's Chromium (tests/browser/lab.py's chromium_context) driven from a thread of its own.

Playwright's sync API allows one running instance per thread, and a test module may keep its own
open for the whole session (tests/test_browser.py does): this module's instance lives in a worker
thread, so both can be used in one pytest run. Everything that touches the browser runs in that
thread: ``chromium.run(fn, *args)`` calls ``fn(context, *args)`` there and returns its result.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from browser import lab


class ChromiumThread:
    def __init__(self, viewport=(1400, 1000)):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._viewport = viewport
        self._cm = None
        self._ctx = None

    def start(self) -> ChromiumThread:
        """Launch Chromium; raises lab.ChromiumMissing (with the install command) if it is not there."""

        def launch():
            cm = lab.chromium_context(self._viewport)
            self._ctx = cm.__enter__()
            self._cm = cm

        self._pool.submit(launch).result()
        return self

    def run(self, fn, *args):
        return self._pool.submit(fn, self._ctx, *args).result()

    def close(self) -> None:
        if self._cm is not None:
            self._pool.submit(self._cm.__exit__, None, None, None).result()
        self._pool.shutdown()
