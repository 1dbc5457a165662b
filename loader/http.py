"""The loader's /metrics, /health/live and /health/ready: the kernel's HealthServer."""

from __future__ import annotations

from billing.health import MAX_PORT, HealthServer, ReadinessCheck

__all__ = ["MAX_PORT", "HealthServer", "ReadinessCheck"]
