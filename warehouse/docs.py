"""The dbt docs site (issue 21): every model, column, test and exposure, with its lineage.

`generate_docs` runs `dbt docs generate` against the warehouse (the catalog reads the built
relations' columns and types; a model never built shows without them) into a folder of its
own, so it never disturbs the close's target folder; `serve_docs` serves that folder over
HTTP on a local port (the site is static files: index.html, manifest.json, catalog.json).
"""

from __future__ import annotations

import functools
import http.server
import shutil
from pathlib import Path

from warehouse.transform import run_dbt


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No line per request on the terminal."""


def generate_docs(database_url: str, site: Path) -> Path:
    """Build the docs site into `site` (replaced); returns its index.html."""
    shutil.rmtree(site, ignore_errors=True)  # a site from an earlier run, if any
    site.mkdir(parents=True)
    run_dbt(["docs", "generate"], database_url, target_path=site)  # raises when dbt fails
    return site / "index.html"


def docs_server(site: Path, host: str, port: int) -> http.server.ThreadingHTTPServer:
    """An HTTP server of the site (call serve_forever; server_close when done)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    return http.server.ThreadingHTTPServer((host, port), handler)
