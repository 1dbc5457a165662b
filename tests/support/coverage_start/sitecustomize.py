"""Starts coverage in a Python child of a measured test run, unless the child is dbt.

tests/support/coverage.py puts this folder on the PYTHONPATH of the processes a test starts
(the `billing` command, a loader, an exporter), with BILLING_TEST_COVERAGE_START naming the
coverage configuration. Python imports this module at start-up in every descendant. Our
processes measure themselves, as coverage's own COVERAGE_PROCESS_START would make them; dbt,
which runs none of our code, is left alone: under coverage every dbt command started more
slowly and ran its Jinja rendering traced, and the closes of the suite start hundreds.
"""

from __future__ import annotations

import os
import sys

_CONFIG = os.environ.get("BILLING_TEST_COVERAGE_START")
_UNMEASURED = {"dbt"}

if _CONFIG and os.path.basename(sys.argv[0] if sys.argv else "") not in _UNMEASURED:
    os.environ["COVERAGE_PROCESS_START"] = _CONFIG
    try:
        import coverage

        coverage.process_startup()
    except ImportError:  # pragma: no cover (coverage is a dev dependency)
        pass
    finally:
        # Not inherited: each descendant decides here for itself.
        os.environ.pop("COVERAGE_PROCESS_START", None)
