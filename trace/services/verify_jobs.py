"""Whole-log verification as a background job of the web process (the regulator's desk, issue 14).

Rules:
1. One job at a time, across every worker: a job's row holds `running = 1` while it runs, and the
   column's unique constraint refuses a second such row (VerificationBusyError), on SQLite and
   PostgreSQL alike.
2. The state lives in the database (table `verification_jobs`), not in memory, so a page reload or
   another worker shows the same job, its progress and, once done, its report.
3. The job runs `verify_log` (every layer, and the families' hard rules again) in a thread of the
   process that started it; a second thread writes a heartbeat every HEARTBEAT seconds. A running
   job whose heartbeat is older than STALE died with its process: it is shown as interrupted, and the
   next start marks it so and frees the slot. A job is never shown running forever.
4. Each failure of the report is named: event, batch, reason (and rule, for a rule that now refuses).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from farmtrace.storage.models import VerificationJob
from farmtrace.storage.uow import utc_aware

from farmtrace.ledger.errors import ChainConflictError, NotFoundError, Said
from farmtrace.services.ledger import Ledger
from farmtrace.services.verify import verify_log

HEARTBEAT = 5.0                   # seconds between heartbeats of a running job
STALE = timedelta(seconds=60)     # a running job silent this long is interrupted
PROGRESS_EVERY = 1.0              # seconds between progress writes (progress arrives per chunk of events)
_THREADS: dict[int, threading.Thread] = {}


class VerificationBusyError(ChainConflictError):
    """A whole-log verification is already running."""

    code = "verification_running"


@dataclass(frozen=True)
class JobFailure:
    layer: str
    reason: str
    reason_zh: str | None
    event_hash: str | None
    batch: str | None
    seq: int | None
    rule: str | None


@dataclass(frozen=True)
class JobView:
    """A verification job as the desk shows it."""

    id: int
    state: str                 # running | done | error | interrupted
    started_by: str
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    phase: str                 # log | rules
    done: int
    total: int
    ok: bool | None
    events: int = 0
    batches: int = 0
    checkpoints: int = 0
    rules_checked: int = 0
    error: str | None = None
    failures: list[JobFailure] = field(default_factory=list)
    flagged: list[JobFailure] = field(default_factory=list)

    @property
    def is_running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        """How far the job has come: the log pass counts for 80 %, the rules pass for 20 %."""
        if self.state != "running":
            return 100
        part = min(self.done, self.total) / self.total if self.total else 0.0
        return int(80 * part) if self.phase == "log" else 80 + int(20 * part)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _is_stale(job: VerificationJob, now: datetime | None = None) -> bool:
    beat = utc_aware(job.heartbeat_at)
    assert beat is not None
    return beat < (utc_aware(now or _now()) or datetime.now(timezone.utc)) - STALE


def _failures(items: list[dict[str, Any]]) -> list[JobFailure]:
    return [JobFailure(str(f.get("layer")), str(f.get("reason")), f.get("reason_zh"), f.get("event_hash"),
                       f.get("batch"), f.get("seq"), f.get("rule")) for f in items]


def _view(job: VerificationJob) -> JobView:
    assert job.id is not None
    state = "interrupted" if job.state == "running" and _is_stale(job) else job.state
    report: dict[str, Any] = {}
    error = None
    if job.report:
        if job.state == "error":
            error = job.report
        else:
            report = json.loads(job.report)
    started, beat = utc_aware(job.started_at), utc_aware(job.heartbeat_at)
    assert started is not None and beat is not None
    return JobView(job.id, state, job.started_by, started, beat, utc_aware(job.finished_at), job.phase, job.done,
                   job.total, job.ok, report.get("events", 0), report.get("batches", 0), report.get("checkpoints", 0),
                   report.get("rules_checked", 0), error, _failures(report.get("failures", [])),
                   _failures(report.get("flagged", [])))


def latest(ledger: Ledger) -> JobView | None:
    """The newest job (running, or the last one finished), or None before the first."""
    with ledger.uow() as uow:
        job = uow.session.scalars(select(VerificationJob).order_by(VerificationJob.id.desc()).limit(1)).first()  # type: ignore[union-attr]
        return None if job is None else _view(job)


def last_finished(ledger: Ledger) -> JobView | None:
    """The newest job that finished (done or error), for the dashboard's log health."""
    with ledger.uow() as uow:
        job = uow.session.scalars(select(VerificationJob).where(VerificationJob.state.in_(("done", "error")))  # type: ignore[attr-defined]
                                  .order_by(VerificationJob.id.desc()).limit(1)).first()  # type: ignore[union-attr]
        return None if job is None else _view(job)


def job(ledger: Ledger, job_id: int) -> JobView:
    """One job by its number. Raises NotFoundError."""
    with ledger.uow() as uow:
        row = uow.session.get(VerificationJob, job_id)
        if row is None:
            raise NotFoundError(Said(f"no verification job {job_id}", f"没有第 {job_id} 次核验"), field="job")
        return _view(row)


def claim(ledger: Ledger, username: str, *, now: datetime | None = None) -> int:
    """Record a new running job and return its number (rule 1); a stale running job is marked interrupted.

    Raises:
        VerificationBusyError: a job is running (its heartbeat is fresh).
    """
    busy = VerificationBusyError(Said(
        "a whole-log verification is already running; wait for it to finish (its progress is shown below)",
        "已有一次全账本核验正在进行：请等它完成（进度见下方）"), field="job")
    moment = now or _now()
    try:
        with ledger.uow(write=True) as uow:
            running = uow.session.scalars(select(VerificationJob).where(VerificationJob.running == 1)).first()  # type: ignore[arg-type]
            if running is not None:
                if not _is_stale(running, moment):
                    raise busy
                running.running, running.state, running.finished_at = None, "interrupted", moment
                uow.session.flush()
            row = VerificationJob(running=1, state="running", started_by=username, started_at=moment,
                                  heartbeat_at=moment, total=uow.log_size())
            uow.session.add(row)
            uow.session.flush()
            assert row.id is not None
            job_id = row.id
            uow.commit()
    except (IntegrityError, OperationalError) as err:  # another worker claimed it between our read and write
        raise busy from err
    return job_id


def _update(ledger: Ledger, job_id: int, **values: Any) -> None:
    with ledger.uow(write=True) as uow:
        row = uow.session.get(VerificationJob, job_id)
        if row is None:
            return
        for name, value in values.items():
            setattr(row, name, value)
        uow.commit()


def run(ledger: Ledger, job_id: int, *, workers: int | None = None) -> None:
    """Run job `job_id` to its end in this thread, beating its heartbeat from another (rule 3)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT):
            try:
                _update(ledger, job_id, heartbeat_at=_now())
            except Exception:  # noqa: BLE001 - a busy database misses one beat, not the job
                continue

    heart = threading.Thread(target=beat, name=f"verify-job-{job_id}-heartbeat", daemon=True)
    heart.start()
    last = [0.0]

    def reporter(phase: str) -> Callable[[int, int], None]:
        def progress(done: int, total: int) -> None:
            moment = _now()
            if done >= total or moment.timestamp() - last[0] >= PROGRESS_EVERY:
                last[0] = moment.timestamp()
                _update(ledger, job_id, phase=phase, done=done, total=total, heartbeat_at=moment)
        return progress

    try:
        report = verify_log(ledger.engine, log_origin=ledger.log_origin, workers=workers,
                            progress=reporter("log"), rules_progress=reporter("rules"))
        stop.set()
        _update(ledger, job_id, running=None, state="done", ok=report.ok, finished_at=_now(), heartbeat_at=_now(),
                report=json.dumps(report.to_json(), ensure_ascii=False))
    except Exception as err:  # noqa: BLE001 - the job records why it ended; the web process goes on
        stop.set()
        _update(ledger, job_id, running=None, state="error", ok=False, finished_at=_now(), heartbeat_at=_now(),
                report=f"{type(err).__name__}: {err}")
    finally:
        stop.set()
        heart.join(timeout=HEARTBEAT + 1)


def start(ledger: Ledger, username: str, *, workers: int | None = None) -> int:
    """Claim the job slot and run the verification in a thread of this process; returns the job's number.

    Raises:
        VerificationBusyError: a job is running.
    """
    job_id = claim(ledger, username)
    thread = threading.Thread(target=run, args=(ledger, job_id), kwargs={"workers": workers},
                              name=f"verify-job-{job_id}", daemon=True)
    _THREADS[job_id] = thread
    thread.start()
    return job_id


def wait(job_id: int, timeout: float | None = None) -> None:
    """Wait for a job started by this process to end (tests and the CLI; pages poll instead)."""
    thread = _THREADS.get(job_id)
    if thread is not None:
        thread.join(timeout)
