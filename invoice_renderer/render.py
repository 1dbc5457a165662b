"""Render every pending document: issued invoices without a PDF, voids without a void notice.

Worker processes render and store (CPU and upload in parallel); the calling process reads the
database and records the stored documents with their outbox events, a few per transaction. A run
that stops anywhere leaves nothing half-done: the next run renders what has no record, finds
identical bytes already stored (output is byte-stable) and records them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

from billing.errors import BillingError
from billing.locks import Lock, advisory_lock
from billing.settings import Settings
from invoice_renderer import records
from invoice_renderer.copies import invoice_csv, invoice_json
from invoice_renderer.model import DocumentJob, DocumentKind, StoredDocument
from invoice_renderer.pdf import PdfRenderer
from invoice_renderer.storage import DocumentStore, open_store

_BATCH = 200
# Documents per task sent to a worker and per recording transaction: fewer round trips and
# commits, and still a steady progress bar.
_CHUNK = 4

ProgressCallback = Callable[[int, int], None]
"""Called with (documents done, documents in the run) as documents are recorded."""


_RENDER_BUSY = "another render run is in progress on this database; wait for it to finish"


@dataclass(frozen=True)
class RenderFailure:
    """A document that could not be rendered or stored, and why."""

    document: str
    reason: str


@dataclass
class RenderReport:
    """What a render run did."""

    pending: int = 0
    stored: int = 0
    already_stored: int = 0
    copies: int = 0  # JSON and CSV copies stored beside invoice PDFs
    events: int = 0
    failures: list[RenderFailure] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    @property
    def recorded(self) -> int:
        """Documents recorded in billing.invoice_documents by this run."""
        return self.stored + self.already_stored

    @property
    def per_second(self) -> float:
        """Documents recorded per second of wall time."""
        return self.recorded / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class _Outcome:
    stored: tuple[tuple[DocumentKind, StoredDocument], ...] | None  # the job's main document first
    error: str | None


class _DocumentWriter:
    """Renders a job and stores the PDF: what each worker process runs."""

    def __init__(self, settings: Settings) -> None:
        self.renderer = PdfRenderer(settings.issuer, settings.tax)
        self.store: DocumentStore = open_store(settings)

    def _store(self, job: DocumentJob) -> tuple[tuple[DocumentKind, StoredDocument], ...]:
        if job.kind is DocumentKind.VOID_NOTICE:
            return ((job.kind, self.store.put(job.key, self.renderer.render(job))),)
        # An invoice: its PDF (unless an earlier run recorded it), then the copies naming it.
        pdf = job.stored_pdf or self.store.put(job.key, self.renderer.render(job))
        copies = (
            (DocumentKind.INVOICE_JSON, invoice_json(job.invoice, pdf)),
            (DocumentKind.INVOICE_CSV, invoice_csv(job.invoice)),
        )
        return (
            (DocumentKind.INVOICE, pdf),
            *(
                (kind, self.store.put(job.key_of(kind), data, kind.content_type))
                for kind, data in copies
            ),
        )

    def __call__(self, job: DocumentJob) -> _Outcome:
        try:
            return _Outcome(self._store(job), None)
        except BillingError as error:
            return _Outcome(None, str(error))
        except Exception as error:  # one bad document must not stop the month
            return _Outcome(None, f"{type(error).__name__}: {error}")


_worker: _DocumentWriter | None = None


def _start_worker(settings: Settings) -> None:
    global _worker
    _worker = _DocumentWriter(settings)
    # WeasyPrint makes many short-lived objects; with the long-lived ones (modules, fonts,
    # stylesheets) frozen out of the collector, each collection scans only the current
    # document's objects (~5-10% of the render time before freezing, measured).
    gc.collect()
    gc.freeze()


def _work(chunk: list[DocumentJob]) -> list[_Outcome]:
    assert _worker is not None, "worker not initialised"
    return [_worker(job) for job in chunk]


@contextmanager
def _frozen_gc() -> Iterator[None]:
    """The same for rendering in the calling process, undone afterwards."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _jobs(
    conn: records.Connection, pending: Sequence[records.PendingDocument]
) -> Iterator[DocumentJob]:
    for start in range(0, len(pending), _BATCH):
        yield from records.load_jobs(conn, pending[start : start + _BATCH])


def render_pending(
    settings: Settings,
    database_url: str,
    period: str | None = None,
    workers: int = 1,
    on_progress: ProgressCallback | None = None,
) -> RenderReport:
    """Render, store and record every pending document of `period` (YYYY-MM; None: all).

    `workers` > 1 renders in that many processes. Failures of single documents are listed in
    the report (the rest go on); a database failure stops the run (rerun it).
    """
    started = time.perf_counter()
    report = RenderReport(workers=max(1, workers))
    open_store(settings)  # refuse at once on a bad storage setting, before any work
    with (
        records.renderer_connection(settings, database_url) as conn,
        advisory_lock(conn, Lock.RENDER, busy=_RENDER_BUSY),
    ):
        pending = records.pending_documents(conn, period)
        report.pending = len(pending)
        if pending:
            if report.workers == 1:
                _render_here(settings, conn, pending, report, on_progress)
            else:
                _render_in_pool(settings, conn, pending, report, on_progress)
    report.seconds = time.perf_counter() - started
    return report


def _record(
    conn: records.Connection,
    chunk: Sequence[DocumentJob],
    outcomes: Sequence[_Outcome],
    report: RenderReport,
) -> None:
    """Record a chunk's stored documents (and events) in one transaction; count failures."""
    stored = []
    for job, outcome in zip(chunk, outcomes, strict=True):
        if outcome.stored is None:
            report.failures.append(RenderFailure(job.label, outcome.error or "unknown error"))
            continue
        stored.append((job, outcome.stored))
        if outcome.stored[0][1].created:
            report.stored += 1
        else:
            report.already_stored += 1
        report.copies += sum(document.created for _, document in outcome.stored[1:])
    report.events += sum(
        event_id is not None for event_id in records.record_documents(conn, stored)
    )


def _chunks(jobs: Iterator[DocumentJob]) -> Iterator[list[DocumentJob]]:
    chunk: list[DocumentJob] = []
    for job in jobs:
        chunk.append(job)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _render_here(
    settings: Settings,
    conn: records.Connection,
    pending: Sequence[records.PendingDocument],
    report: RenderReport,
    on_progress: ProgressCallback | None,
) -> None:
    writer = _DocumentWriter(settings)
    done = 0
    with _frozen_gc():
        for chunk in _chunks(_jobs(conn, pending)):
            _record(conn, chunk, [writer(job) for job in chunk], report)
            done += len(chunk)
            if on_progress:
                on_progress(done, len(pending))


def _render_in_pool(
    settings: Settings,
    conn: records.Connection,
    pending: Sequence[records.PendingDocument],
    report: RenderReport,
    on_progress: ProgressCallback | None,
) -> None:
    # spawn: workers start clean, without this process's connections or threads.
    context = multiprocessing.get_context("spawn")
    in_flight: dict[Future[list[_Outcome]], list[DocumentJob]] = {}
    limit = report.workers * 3
    chunks = _chunks(_jobs(conn, pending))
    done = 0
    with ProcessPoolExecutor(
        max_workers=report.workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(settings,),
    ) as pool:
        try:
            exhausted = False
            while in_flight or not exhausted:
                while not exhausted and len(in_flight) < limit:
                    chunk = next(chunks, None)
                    if chunk is None:
                        exhausted = True
                        break
                    in_flight[pool.submit(_work, chunk)] = chunk
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    chunk = in_flight.pop(future)
                    _record(conn, chunk, future.result(), report)
                    done += len(chunk)
                    if on_progress:
                        on_progress(done, len(pending))
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise
