"""QR codes drawn on the server (labels, receipts, the tracking page): one look everywhere —
error correction M and the standard quiet zone of 4 modules — and no JavaScript on the client."""

import io

import segno


def qr_image(text: str, *, kind: str = "svg", scale: int = 8) -> bytes:
    """`text` as a QR code file: kind "svg" or "png"."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind=kind, scale=scale, border=4)
    return out.getvalue()


def qr_svg_inline(text: str, *, scale: int = 4) -> str:
    """`text` as an SVG QR code to place inside a page (no XML declaration, class "qr")."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, svgclass="qr", lineclass=None
    )
    return out.getvalue().decode()
