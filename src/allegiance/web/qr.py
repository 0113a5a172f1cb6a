"""QR codes of survey links, as SVG (segno, pure Python; nothing is fetched)."""

from __future__ import annotations

import io

import segno

__all__ = ["qr_svg"]


def qr_svg(url: str, /, *, scale: int = 4, title: str | None = None) -> bytes:
    """An SVG image of a QR code (error correction level M) that opens ``url``.

    >>> qr_svg("https://example.com/i/abc").startswith(b"<?xml")
    True
    """
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=scale, border=4, title=title, xmldecl=True, svgns=True)
    return buffer.getvalue()
