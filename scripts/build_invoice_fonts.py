"""Build the invoice fonts in invoice_renderer/fonts/ from the Inter font family.

Usage: python scripts/build_invoice_fonts.py DIR_WITH_INTER_OTFS

The source is Debian's `fonts-inter` (Inter 4.0 beta 7, SIL Open Font License 1.1):
`apt-get download fonts-inter && dpkg-deb -x fonts-inter_*.deb inter`, then pass
`inter/usr/share/fonts/opentype/inter`.

Why a build step: WeasyPrint spends most of a naive render subsetting a large font with
fontTools. These files are already small (only the scripts an invoice needs, no hinting, no
layout tables), TrueType outlines, with tabular figures made the default so amounts line up
without OpenType features; the renderer embeds them whole (full_fonts), so no per-document
subsetting runs at all. The family is renamed "Inter Invoice" (a Modified Version under the
OFL, with the licence kept beside the files).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

OUTPUT = Path(__file__).resolve().parent.parent / "invoice_renderer" / "fonts"
FAMILY = "Inter Invoice"
WEIGHTS = {"Regular": "Inter-Regular.otf", "SemiBold": "Inter-SemiBold.otf"}

# Two glyph sets per weight. The core covers what nearly every invoice prints; the extended
# file is a fallback in the font-family list, embedded only in documents that use it (a
# customer name in Polish, Greek or Cyrillic, say). WeasyPrint's per-document font work grows
# with the glyph count of every embedded font, so the core stays as small as it can.
CORE_RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x2013, 0x2014),  # en and em dash
    (0x2018, 0x2019),  # single quotes
    (0x201C, 0x201D),  # double quotes
    (0x2022, 0x2022),  # bullet
    (0x2026, 0x2026),  # ellipsis
    (0x20AC, 0x20AC),  # euro sign
    (0x2212, 0x2212),  # minus sign
]
EXTENDED_RANGES = [
    (0x0100, 0x017F),  # Latin Extended-A (Central European names)
    (0x0218, 0x021B),  # Romanian comma-below letters
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x045F),  # Cyrillic
    (0x2010, 0x2027),  # other dashes and punctuation
    (0x2030, 0x203A),  # per mille, single guillemets
    (0x20A0, 0x20C0),  # other currency signs
    (0x2116, 0x2116),  # numero sign
    (0x2122, 0x2122),  # trade mark
    (0x2190, 0x2193),  # arrows
]
# The extended file holds the core glyphs too: Pango shapes a run of Greek or Cyrillic text
# (spaces, digits and punctuation included) with one font, so that font needs them all.
SETS = {"": CORE_RANGES, "Extended": CORE_RANGES + EXTENDED_RANGES}


def _unicodes(ranges: list[tuple[int, int]]) -> list[int]:
    return [code for low, high in ranges for code in range(low, high + 1)]


def _freeze_tabular_figures(font: TTFont) -> None:
    """Point the digits (and their friends) at their tabular glyphs: 'tnum' by default."""
    gsub = font["GSUB"].table
    tabular: dict[str, str] = {}
    for record in gsub.FeatureList.FeatureRecord:
        if record.FeatureTag != "tnum":
            continue
        for index in record.Feature.LookupListIndex:
            for subtable in gsub.LookupList.Lookup[index].SubTable:
                tabular.update(getattr(subtable, "mapping", {}))
    for table in font["cmap"].tables:
        for code, glyph in list(table.cmap.items()):
            if glyph in tabular:
                table.cmap[code] = tabular[glyph]


def _to_truetype(font: TTFont) -> None:
    """Convert CFF outlines to TrueType (quadratic) glyphs, the cheaper format to embed."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    del font["CFF "]
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attribute in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attribute, 0)
    maxp.maxZones = 1
    font["maxp"] = maxp
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def _rename(font: TTFont, family: str, style: str) -> None:
    names = font["name"]
    full = f"{family} {style}"
    postscript = f"{family.replace(' ', '')}-{style}"
    for record in list(names.names):
        if record.nameID in (1, 16):
            names.setName(family, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (2, 17):
            names.setName(style, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 4:
            names.setName(full, 4, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName(postscript, 6, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 3:
            names.setName(
                f"{postscript};subset", 3, record.platformID, record.platEncID, record.langID
            )


def build(source_dir: Path) -> None:
    """Write the core and extended TrueType files of each weight into invoice_renderer/fonts/."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for style, filename in WEIGHTS.items():
        for set_name, ranges in SETS.items():
            font = TTFont(source_dir / filename)
            _freeze_tabular_figures(font)
            options = subset.Options()
            options.layout_features = []
            options.drop_tables += ["GSUB", "GPOS", "GDEF", "STAT"]
            options.hinting = False
            options.desubroutinize = True
            options.notdef_outline = True
            options.name_IDs = ["*"]
            options.name_languages = ["*"]
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=_unicodes(ranges))
            subsetter.subset(font)
            _to_truetype(font)
            family = f"{FAMILY} {set_name}".strip()
            _rename(font, family, style)
            font.recalcBBoxes = True
            target = OUTPUT / f"{family.replace(' ', '')}-{style}.ttf"
            font.save(target)
            print(
                f"{target.name}: {len(font.getGlyphOrder())} glyphs, {target.stat().st_size} bytes"
            )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
