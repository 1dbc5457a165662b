"""Serialise each stream of a PDF once, and the streams every document shares once per process.

Through WeasyPrint's public `finisher` hook (called with the `pydyf.PDF` before it is written).
Why: PDF/A needs a file identifier, and pydyf computes it by serialising every object a second
time, so each stream was zlib-compressed (level 9) twice; and the streams that are the same in
every invoice (the whole-embedded font files, the sRGB profile, the fonts' ToUnicode maps) were
compressed again for every document. The bytes written are exactly pydyf's own: each stream's
serialisation is pydyf's, computed once and reused (tests compare the PDFs byte for byte).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pydyf  # type: ignore[import-untyped]

# Streams of at least this size whose content is plain bytes are shared through the cache.
_SHARED_MIN_BYTES = 1024
# The same fonts, profile and maps recur in every document: a few dozen entries hold them all;
# a stream seen in one document only (unusual) is evicted first.
_SHARED_MAX_ENTRIES = 64
_shared: OrderedDict[tuple[bytes, bool, bytes], bytes] = OrderedDict()


class SerialisedStream(pydyf.Stream):  # type: ignore[misc]
    """A stream already serialised: it writes the same bytes each time, computed once."""

    def __init__(self, original: Any, serialised: bytes) -> None:
        super().__init__(original.stream, original.extra, original.compress)
        self.number = original.number
        self.offset = original.offset
        self.generation = original.generation
        self.free = original.free
        self._serialised = serialised

    @property
    def data(self) -> bytes:
        return self._serialised


def _shared_key(stream: Any) -> tuple[bytes, bool, bytes] | None:
    """The cache key of a stream whose bytes depend only on its content and dictionary."""
    if type(stream).data is not pydyf.Stream.data:
        return None
    items = stream.stream
    if not all(type(item) is bytes for item in items):
        return None
    content = b"\n".join(items)
    if len(content) < _SHARED_MIN_BYTES:
        return None
    return pydyf.Dictionary(stream.extra).data, bool(stream.compress), content


def _serialise(stream: Any) -> bytes:
    key = _shared_key(stream)
    if key is None:
        data: bytes = stream.data
        return data
    cached = _shared.get(key)
    if cached is not None:
        _shared.move_to_end(key)
        return cached
    data = stream.data
    _shared[key] = data
    if len(_shared) > _SHARED_MAX_ENTRIES:
        _shared.popitem(last=False)
    return data


def serialise_streams_once(document: object, pdf: Any) -> None:
    """WeasyPrint finisher: replace each stream of `pdf` with its serialisation."""
    objects = pdf.objects
    for index, item in enumerate(objects):
        if isinstance(item, pydyf.Stream) and not isinstance(item, SerialisedStream):
            objects[index] = SerialisedStream(item, _serialise(item))
