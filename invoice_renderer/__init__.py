"""invoice_renderer."""
