"""Stopping training between steps on SIGINT or SIGTERM, so that the checkpoint it then writes is consistent."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


@contextmanager
def stop_on_signals():
    """Yields a function telling which of SIGINT and SIGTERM arrived, if any, so that training stops
    between steps (model, optimizer and schedule stay consistent). A second Ctrl-C stops at once."""
    received: list[signal.Signals] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return

    def handle(signum, frame):
        if received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(signal.Signals(signum))

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: received[0] if received else None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Terminated(BaseException):
    """SIGTERM, raised where `sigterm_raises` holds (a BaseException, like KeyboardInterrupt, so that no
    `except Exception` swallows it)."""


@contextmanager
def sigterm_raises():
    """Within: SIGTERM raises Terminated (in the main thread), so that work that is not training (evaluation)
    can say how to finish, as it does on Ctrl-C; the previous handler is restored on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
