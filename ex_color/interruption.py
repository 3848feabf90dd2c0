"""Ctrl-C (SIGINT) and SIGTERM during training stop it cleanly at the end of the current step.

Stopping between steps, never inside one, keeps the model, the optimizer and the schedule position
consistent, so the checkpoint written on the way out resumes to bit-identical weights. A second Ctrl-C
stops at once (no checkpoint).
"""

from __future__ import annotations

import signal
import threading

import lightning as L


class GracefulStop(L.Callback):
    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received: signal.Signals | None = None
        self.stopped_at: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame):
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum)

    def on_train_start(self, trainer, pl_module):
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.received is not None and not trainer.should_stop:
            self.stopped_at = trainer.global_step
            trainer.should_stop = True

    def _restore(self):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def on_train_end(self, trainer, pl_module):
        self._restore()

    def on_exception(self, trainer, pl_module, exception):
        self._restore()

    @property
    def exit_code(self) -> int:
        return 128 + int(self.received) if self.received is not None else 0
