"""Draw docs/img/layers.png from the import-linter layers contract of pyproject.toml.

Usage: python scripts/layers_diagram.py
One row per layer, top to bottom as in the contract; siblings (`a | b`) side by side. An arrow
means "may import"; nothing points up, and siblings never import each other. The picture is
made from the contract itself, so it cannot drift from what `make test` checks.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "invoice_renderer" / "fonts"
TARGET = ROOT / "docs" / "img" / "layers.png"

# What each package is, in a few words (shown under its name).
ROLES = {
    "billing_cli": "the `billing` command: composition root",
    "orchestration": "Dagster: the monthly close",
    "loader": "NATS -> raw tables",
    "exporter": "warehouse metrics",
    "invoice_renderer": "PDFs, storage, outbox",
    "finance": "invoices, voids, imports",
    "producers": "charge events, samples",
    "expectations": "Great Expectations suites",
    "warehouse": "running the dbt project",
    "billing": "kernel: settings, db, periods, money, contracts, issued read model",
}

WIDTH = 1400
ROW_HEIGHT = 96
GAP = 56
MARGIN = 40
BOX_GAP = 16
INK = (31, 41, 55)
MUTED = (90, 100, 115)
FILL = [(224, 236, 255), (232, 245, 233), (255, 243, 224), (243, 229, 245), (236, 239, 241)]


def layers() -> list[list[str]]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config = tomllib.load(file)["tool"]["importlinter"]
    [contract] = [item for item in config["contracts"] if item["type"] == "layers"]
    return [[name.strip() for name in layer.split("|")] for layer in contract["layers"]]


def main() -> None:
    rows = layers()
    height = MARGIN * 2 + len(rows) * ROW_HEIGHT + (len(rows) - 1) * GAP + 64
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    title = ImageFont.truetype(str(FONTS / "InterInvoice-SemiBold.ttf"), 26)
    body = ImageFont.truetype(str(FONTS / "InterInvoice-Regular.ttf"), 17)
    note = ImageFont.truetype(str(FONTS / "InterInvoice-Regular.ttf"), 18)
    centres: list[tuple[int, int, int]] = []  # (x of the row's middle, top, bottom)
    for index, names in enumerate(rows):
        top = MARGIN + index * (ROW_HEIGHT + GAP)
        box_width = (WIDTH - 2 * MARGIN - (len(names) - 1) * BOX_GAP) // len(names)
        for position, name in enumerate(names):
            left = MARGIN + position * (box_width + BOX_GAP)
            draw.rounded_rectangle(
                (left, top, left + box_width, top + ROW_HEIGHT),
                radius=12,
                fill=FILL[index % len(FILL)],
                outline=INK,
                width=2,
            )
            draw.text((left + box_width / 2, top + 34), name, font=title, fill=INK, anchor="mm")
            role = ROLES.get(name, "")
            while draw.textlength(role.split("\n")[-1], font=body) > box_width - 24:
                last = role.split("\n")[-1]  # too wide for the box: break before a word
                cut = last.rfind(" ", 0, len(last) - 1)
                role = role[: len(role) - len(last)] + last[:cut] + "\n" + last[cut + 1 :]
            draw.multiline_text(
                (left + box_width / 2, top + 70),
                role,
                font=body,
                fill=MUTED,
                anchor="mm",
                align="center",
            )
        centres.append((WIDTH // 2, top, top + ROW_HEIGHT))
    for (x, _, bottom), (_, next_top, _) in itertools.pairwise(centres):
        draw.line((x, bottom + 6, x, next_top - 10), fill=INK, width=3)
        draw.polygon([(x - 9, next_top - 18), (x + 9, next_top - 18), (x, next_top - 4)], fill=INK)
    draw.multiline_text(
        (MARGIN, height - MARGIN - 44),
        "An arrow: may import every layer below it. Side by side: independent, they never "
        "import each other.\nChecked by import-linter in make test: one layers contract, "
        "no exceptions (pyproject.toml).",
        font=note,
        fill=MUTED,
        spacing=8,
    )
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    image.save(TARGET, optimize=True)
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
