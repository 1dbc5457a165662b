"""`billing ui` starts the Dagster UI on the local data; its GraphQL endpoint lists the assets."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from billing.localservices import free_port
from tests.support.cli import billing_server

STARTUP_SECONDS = 120
QUERY = "{ assetNodes { assetKey { path } groupName } }"


def graphql(url: str, query: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def test_billing_ui_serves_the_asset_graph(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with billing_server("ui", "--port", str(port), BILLING_STATE_DIR=str(tmp_path)) as process:
        deadline = time.monotonic() + STARTUP_SECONDS
        answer: dict[str, object] | None = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = graphql(url, QUERY)
                nodes = answer.get("data", {}).get("assetNodes")  # type: ignore[attr-defined]
                if nodes:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        assert process.poll() is None, "billing ui exited early"
        assert answer is not None, f"no answer from {url} in {STARTUP_SECONDS} s"
        nodes = answer["data"]["assetNodes"]  # type: ignore[index]
        keys = {"/".join(node["assetKey"]["path"]): node["groupName"] for node in nodes}
        assert keys["raw/message_charged"] == "raw"
        assert keys["staging/stg_raw__message_charged"] == "staging"
        assert keys["billing/invoice_drafts"] == "invoicing"
        assert keys["billing/margins"] == "pricing"
        assert keys["billing/close_blockers"] == "close"
        assert keys["catalogue/pricing_rules"] == "catalogue"
        assert keys["billing/issued_invoices"] == "invoicing"
        assert keys["billing/invoice_documents"] == "invoicing"
        # The UI reads the instance under the state folder (DAGSTER_HOME).
        assert (tmp_path / "dagster" / "dagster.yaml").exists()
