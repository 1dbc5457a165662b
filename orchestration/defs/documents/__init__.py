"""The documents domain: the PDFs of the issued invoices and their events."""
