"""What WeasyPrint may fetch while it renders: the invoice's own template and fonts, nothing else.

A document is rendered from data Finance and tenants influence (account names, addresses,
line descriptions). The template escapes them, but should anything ever put a reference into
the HTML (a template change, a `|safe`), WeasyPrint would fetch it: `file:///etc/passwd` as
an attachment embedded in the PDF, or `http://169.254.169.254/...` from inside the network.
The fetcher below refuses every URL that is not a file of the bundled template or font
folders: no network scheme at all, no file elsewhere (symbolic links resolved first).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from invoice_renderer.document import TEMPLATES_DIR

FONTS_DIR = TEMPLATES_DIR.parent / "fonts"
ALLOWED_FOLDERS = (TEMPLATES_DIR, FONTS_DIR)

log = logging.getLogger(__name__)


class ResourceRefusedError(ValueError):
    """A document referenced something outside its template (WeasyPrint skips it)."""


def allowed_path(url: str) -> Path:
    """The local file `url` names, if it is inside the template or font folders."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise ResourceRefusedError(f"refused {url[:200]!r}: documents fetch no network resource")
    path = Path(unquote(parts.path)).resolve()
    if not any(path.is_relative_to(folder) for folder in ALLOWED_FOLDERS):
        raise ResourceRefusedError(
            f"refused {url[:200]!r}: documents read only their template and fonts"
        )
    return path


def restricted_fetcher() -> Any:
    """A WeasyPrint URL fetcher limited to `ALLOWED_FOLDERS` (imports WeasyPrint)."""
    from weasyprint.urls import URLFetcher

    class TemplateOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            try:
                path = allowed_path(url)
            except ResourceRefusedError as error:
                log.warning("%s", error)
                raise
            return super().fetch(path.as_uri(), headers)

    return TemplateOnlyFetcher(allowed_protocols=("file",), allow_redirects=False)
