"""Failures of the loader an operator can act on (caught once, at the CLI)."""

from __future__ import annotations

from billing.errors import BillingError, RefusedError


class LoaderRefusedError(BillingError):
    """The loader refuses to start or go on: the message says why and what to do."""


class MetricsAddressError(LoaderRefusedError, RefusedError):
    """The metrics address or port cannot be served (out of range, not ours, in use)."""
