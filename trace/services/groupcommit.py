"""Group commit: single appends that arrive together in one process share one transaction and one fsync.

SQLite lets one writer in at a time and each commit waits for its fsync, so appends from many
threads (gunicorn's gthread workers serving many tablets) queue on the disk. Here each caller
queues its command; whichever caller takes the leader lock runs every queued command, in queue
order, in one append transaction. A command that raises is taken out and the others run again
from the start (nothing of the failed transaction is kept), so each caller gets exactly its own
result or its own error, as if it had appended alone; and a caller returns only after the
transaction holding its event has committed, so a 2xx still means durable (DESIGN.md).

Only for SQLite: on PostgreSQL a group would hold several batches' row locks at once, and two
processes' groups could deadlock; there each append keeps its own transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from farmtrace.services.transaction import AppendTx

T = TypeVar("T")
Appending = Callable[[Callable[[AppendTx], list[Any]]], list[Any]]


class _Waiting(Generic[T]):
    __slots__ = ("command", "result", "error", "done")

    def __init__(self, command: Callable[[AppendTx], T]) -> None:
        self.command = command
        self.result: T | None = None
        self.error: Exception | None = None
        self.done = False


class GroupCommit:
    """Run concurrently submitted append commands in shared transactions (see the module docstring)."""

    def __init__(self, appending: Appending) -> None:
        self._appending = appending
        self._queue: list[_Waiting[Any]] = []
        self._queue_lock = threading.Lock()
        self._leader = threading.Lock()

    def submit(self, command: Callable[[AppendTx], T]) -> T:
        me: _Waiting[T] = _Waiting(command)
        with self._queue_lock:
            self._queue.append(me)
        with self._leader:
            if not me.done:  # nobody took it along: lead a group of everything queued so far
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._run(group)
        if me.error is not None:
            raise me.error
        return me.result  # type: ignore[return-value]

    def _run(self, group: list[_Waiting[Any]]) -> None:
        while group:
            failed: list[_Waiting[Any]] = []

            def run_all(tx: AppendTx) -> list[Any]:
                out = []
                for waiting in group:
                    try:
                        out.append(waiting.command(tx))
                    except Exception:
                        failed.append(waiting)
                        raise
                return out
            try:
                results = self._appending(run_all)
            except Exception as err:  # already translated to our errors by the ledger
                if failed:
                    failed[0].error, failed[0].done = err, True
                    group = [w for w in group if w is not failed[0]]
                    continue
                if len(group) == 1:  # the commit itself was refused
                    group[0].error, group[0].done = err, True
                    return
                for waiting in group:  # a refusal at commit: find whose, one by one
                    self._run([waiting])
                return
            for waiting, result in zip(group, results):
                waiting.result, waiting.done = result, True
            return
