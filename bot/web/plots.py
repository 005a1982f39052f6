"""Line charts as inline SVG, drawn on the server: no script, no external asset, CSP-safe.

Pure: a series of (label, value) in, SVG markup out. Colours are presentation attributes (not
`style`), so a strict Content-Security-Policy without 'unsafe-inline' still draws them. Each chart
is an image with a text alternative (`role="img"`, `<title>`, `<desc>`) and a tooltip per point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH, HEIGHT = 320, 120
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 10, 10, 22
LINE = "#0b5cad"  # 7:1 on white


def line_chart(
    title: str,
    series: Sequence[tuple[str, float]],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    floor: float | None = 0.0,
    ceiling: float | None = None,
) -> str:
    """One metric over runs (oldest first). `floor`/`ceiling` fix the axis (0..1 for rates)."""
    if not series:
        return (
            f'<svg class="plot" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}"><title>{escape(title)}: no runs yet</title>'
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#444">'
            "no runs yet</text></svg>"
        )
    values = [v for _, v in series]
    low = min(values) if floor is None else min(floor, *values)
    high = max(values) if ceiling is None else max(ceiling, *values)
    if high == low:
        high = low + 1.0
    points = [_xy(i, len(series), v, low, high) for i, (_, v) in enumerate(series)]
    latest = f"latest {fmt(values[-1])}, lowest {fmt(min(values))}, highest {fmt(max(values))}"
    parts = [
        f'<svg class="plot" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" aria-label="{escape(title)}: {escape(latest)}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(f'{len(series)} runs, oldest first; {latest}')}</desc>",
        _axes(low, high, fmt),
        f'<polyline fill="none" stroke="{LINE}" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        + '"/>',
    ]
    for (x, y), (label, value) in zip(points, series, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _xy(index: int, count: int, value: float, low: float, high: float) -> tuple[float, float]:
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    x = PAD_LEFT + (inner_w * index / (count - 1) if count > 1 else inner_w / 2)
    y = PAD_TOP + inner_h * (1 - (value - low) / (high - low))
    return x, y


def _axes(low: float, high: float, fmt: Callable[[float], str]) -> str:
    bottom = HEIGHT - PAD_BOTTOM
    return (
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{bottom}" stroke="#555"/>'
        f'<line x1="{PAD_LEFT}" y1="{bottom}" x2="{WIDTH - PAD_RIGHT}" y2="{bottom}" '
        'stroke="#555"/>'
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end" font-size="11" '
        f'fill="#333">{escape(fmt(high))}</text>'
        f'<text x="{PAD_LEFT - 4}" y="{bottom}" text-anchor="end" font-size="11" '
        f'fill="#333">{escape(fmt(low))}</text>'
        f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 6}" text-anchor="end" font-size="11" '
        'fill="#333">newest →</text>'
    )
