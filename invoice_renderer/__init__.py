"""Invoice documents: issued invoices → HTML (Jinja2) → PDF (WeasyPrint) → storage → event.

The public API, for the CLI and the orchestration assets:

- `render_pending(settings, database_url, period=None, workers=1, on_progress=None)`:
  render, store and record every issued invoice without a document and every void without a
  void notice; each invoice document's billing.invoice.generated.v1 event goes into the
  outbox in the same transaction. Returns a `RenderReport`.
- `publish_pending(settings, database_url, nats_url)`: send the outbox's unpublished events
  to stream BILLING_INVOICES, exactly once per invoice. Returns a `OutboxPublishReport`.

See docs/invoices.md.
"""

from invoice_renderer.publisher import OutboxPublishReport, publish_pending
from invoice_renderer.render import RenderFailure, RenderReport, default_workers, render_pending

__all__ = [
    "OutboxPublishReport",
    "RenderFailure",
    "RenderReport",
    "default_workers",
    "publish_pending",
    "render_pending",
]
