"""`billing docs` (issue 21): the dbt docs site, built from a real warehouse and served on a
local port, read by a real headless Chromium: the exposures lead back through the marts to
the raw events and the catalogues."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from billing.localservices import free_port
from tests.support.cli import billing_server
from tests.support.dbt import DbtProject

STARTUP_SECONDS = 180
EXPOSURES = {
    "invoice_pdf",
    "invoice_generated_events",
    "finance_margin_report",
    "finance_line_explanation",
    "finance_ledger_and_preview",
}
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,900",
    "--virtual-time-budget=20000",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make tools-browser` installs it"
    return found


def browse(url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments, url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def wait_for(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "billing docs exited early"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(1)
    raise AssertionError(f"the docs site did not answer on {url}")


def fetch_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.loads(response.read()))


def upstream(manifest: dict[str, Any], node: str) -> set[str]:
    """Every node and source `node` depends on, transitively."""
    seen: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        entry = manifest["exposures"].get(current) or manifest["nodes"].get(current) or {}
        for parent in entry.get("depends_on", {}).get("nodes", []):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def test_the_docs_site_is_served_and_renders_in_chromium(
    database_url: str, dbt_project: DbtProject, tmp_path: Path
) -> None:
    dbt_project.build_models("2026-10")  # the catalog then has every model's columns
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    with billing_server(
        "docs",
        "--port",
        str(port),
        BILLING_STATE_DIR=str(tmp_path / "state"),
        BILLING_DATABASE_URL=database_url,
    ) as process:
        wait_for(f"{site}/index.html", process)
        manifest = fetch_json(f"{site}/manifest.json")
        exposures = {entry["name"]: key for key, entry in manifest["exposures"].items()}
        assert set(exposures) == EXPOSURES
        # The PDF leads back to the raw events and to every catalogue.
        behind_pdf = upstream(manifest, exposures["invoice_pdf"])
        assert "source.billing.raw.message_charged" in behind_pdf
        for seed in ("pricing_rules", "tier_fees", "operator_costs"):
            assert f"seed.billing.{seed}" in behind_pdf
        catalog = fetch_json(f"{site}/catalog.json")
        margins = catalog["nodes"]["model.billing.margins"]["columns"]
        assert {"revenue", "cost", "margin", "account_tier"} <= set(margins)

        page = f"{site}/#!/exposure/{exposures['invoice_pdf']}"
        rendered = browse(page, "--dump-dom")
        assert rendered.returncode == 0, rendered.stderr
        # Rendered by the site's JavaScript from the manifest: the exposure's own text.
        assert "Invoice PDF" in rendered.stdout
        assert "The PDF a tenant receives for each issued invoice" in rendered.stdout

        screenshot = tmp_path / "dbt-docs.png"
        shot = browse(page, f"--screenshot={screenshot}")
        assert shot.returncode == 0, shot.stderr
        assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
