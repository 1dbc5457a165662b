"""Usage-based billing for a messaging platform: the shared kernel.

Settings, money helpers, event contracts, database bootstrap and embedded local services.
Components (loader, orchestration, invoice_renderer) build on this package; it imports none
of them, except the CLI that wires them together.
"""
