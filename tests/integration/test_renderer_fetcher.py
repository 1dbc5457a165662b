"""WeasyPrint fetches nothing but the invoice's own template and fonts (issue 18, section 4):
no network, no file outside those folders, whatever the account or the template says."""

from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pypdf
import pytest

from billing.issued import IssuedInvoice
from billing.settings import load_settings
from invoice_renderer.document import TEMPLATES_DIR
from invoice_renderer.fetcher import ResourceRefusedError, allowed_path
from invoice_renderer.model import DocumentJob, DocumentKind
from invoice_renderer.pdf import PdfRenderer
from tests.support.issued_invoices import sample_invoice

SECRET = "TOP-SECRET-4f1c2b"


@pytest.fixture
def trap() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records every request it gets; its base URL."""
    hits: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def hostile_markup(base: str, secret: Path) -> str:
    return (
        f'<img src="{base}/img"><img src="{secret.as_uri()}">'
        f'<link rel="stylesheet" href="{base}/style.css">'
        f'<link rel="attachment" href="{secret.as_uri()}">'
        f'<link rel="attachment" href="file:///etc/passwd">'
        f'<style>@import url("{base}/import.css"); h1 {{ background: url("{base}/bg") }}</style>'
        f'<div style="background-image: url({base}/inline)">x</div>'
    )


def attachments_and_text(data: bytes) -> tuple[dict[str, list[bytes]], str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return dict(reader.attachments), text


def invoice_with_name(name: str) -> IssuedInvoice:
    invoice = sample_invoice(1, usage_lines=2, late_lines=0)
    assert invoice.customer is not None
    return dataclasses.replace(invoice, customer=dataclasses.replace(invoice.customer, name=name))


def test_a_hostile_account_name_fetches_nothing(
    trap: tuple[str, list[str]], secret_file: Path
) -> None:
    base, hits = trap
    invoice = invoice_with_name("Evil Corp " + hostile_markup(base, secret_file))
    data = PdfRenderer(load_settings().issuer).render(DocumentJob(invoice, DocumentKind.INVOICE))
    attachments, text = attachments_and_text(data)
    assert hits == []
    assert attachments == {}
    assert SECRET not in text
    assert "Evil Corp <img" in text  # printed as text, escaped
    # The template's own fonts still load.
    page_fonts = pypdf.PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"]
    names = {str(page_fonts[key].get_object()["/BaseFont"]) for key in page_fonts}
    assert any(name.endswith("+Inter-Invoice") for name in names), names


class HostileTemplate(PdfRenderer):
    """The renderer with a template that puts references into the document as markup, as a
    careless template change (a `|safe` on a customer field) would."""

    markup = ""

    def html(self, job: DocumentJob) -> str:
        return super().html(job).replace("</body>", self.markup + "</body>")


def test_a_hostile_template_variable_fetches_no_network_and_no_file_outside_the_template(
    trap: tuple[str, list[str]], secret_file: Path
) -> None:
    base, hits = trap
    renderer = HostileTemplate(load_settings().issuer)
    renderer.markup = hostile_markup(base, secret_file)
    invoice = sample_invoice(1, usage_lines=2, late_lines=0)
    assert renderer.markup in renderer.html(DocumentJob(invoice, DocumentKind.INVOICE))
    data = renderer.render(DocumentJob(invoice, DocumentKind.INVOICE))
    attachments, text = attachments_and_text(data)
    assert hits == []
    assert attachments == {}
    assert SECRET.encode() not in data
    assert "root:" not in text


def test_only_the_template_and_font_folders_are_readable(secret_file: Path) -> None:
    assert allowed_path((TEMPLATES_DIR / "invoice.css").as_uri()) == TEMPLATES_DIR / "invoice.css"
    font = TEMPLATES_DIR.parent / "fonts" / "InterInvoice-Regular.ttf"
    assert allowed_path((TEMPLATES_DIR / ".." / "fonts" / font.name).as_uri()) == font
    for refused in (
        secret_file.as_uri(),
        (TEMPLATES_DIR / ".." / ".." / "pyproject.toml").as_uri(),
        "file:///etc/passwd",
        "http://127.0.0.1:1/x",
        "https://example.com/x.css",
        "data:text/css,body{}",
        "ftp://example.com/x",
    ):
        with pytest.raises(ResourceRefusedError):
            allowed_path(refused)
