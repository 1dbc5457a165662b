"""The documents domain: PDFs of the issued invoices, then their events."""

import dagster as dg

from orchestration.defs.documents.assets import invoice_documents, invoice_events
from orchestration.defs.resources import BillingResource


def documents_definitions(billing: BillingResource) -> dg.Definitions:
    """The renderer and the outbox publisher read where the data is from `billing`."""
    return dg.Definitions(
        assets=[invoice_documents, invoice_events], resources={"billing": billing}
    )
