"""Usage-based billing for a messaging platform: the shared kernel.

Settings, errors, periods, money formatting, database access and migrations, named locks,
roles, event contracts, streams, the raw landing table, the read model of issued invoices and
the embedded local services. Every component builds on this package; it imports none of them
(docs/architecture.md).
"""
