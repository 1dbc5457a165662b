"""Failures of the loader an operator can act on (caught once, at the CLI)."""

from __future__ import annotations

from billing.errors import BillingError
from billing.health import MetricsAddressError

__all__ = ["LoaderRefusedError", "MetricsAddressError"]


class LoaderRefusedError(BillingError):
    """The loader refuses to start or go on: the message says why and what to do."""
