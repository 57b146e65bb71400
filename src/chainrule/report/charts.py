"""Pictures as text: inline SVG charts and base64 PNG heat maps, with no library and no network.

Everything returns a string to put straight into an HTML page that must open from disk.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib

import numpy as np

POS = np.array([8, 119, 189], dtype=np.float64)  # blue: positive, class 1
NEG = np.array([245, 147, 34], dtype=np.float64)  # orange: negative, class 0
WHITE = np.array([255, 255, 255], dtype=np.float64)
CLASS_COLOURS = np.array(
    [
        [245, 147, 34],
        [8, 119, 189],
        [46, 160, 67],
        [207, 34, 46],
        [130, 80, 223],
        [191, 135, 0],
        [27, 124, 131],
        [100, 100, 100],
    ],
    dtype=np.float64,
)
SERIES_COLOURS = ["#1f2328", "#f59322", "#0877bd", "#2ea043", "#cf222e", "#8250df", "#bf8700"]


def _hex(c) -> str:
    return "#" + "".join(f"{int(round(v)):02x}" for v in c)


# ---- PNG ------------------------------------------------------------------------------------
def png(rgb: np.ndarray) -> bytes:
    """An RGB image ``(height, width, 3)`` of uint8 as PNG bytes (made with zlib alone)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def data_uri(png_bytes: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def boundary_rgb(snapshot: dict) -> np.ndarray:
    """Colours of a decision-surface grid: orange–white–blue for P(class 1), or each cell in its
    winning class's colour, paler where the model is unsure."""
    size = int(snapshot["size"])
    p = np.asarray(snapshot["p"], dtype=np.float64).reshape(-1)
    p = np.where(np.isfinite(p), p, 0.5)
    if snapshot.get("label") is None:
        t = np.clip(2.0 * p - 1.0, -1.0, 1.0)[:, None]
        rgb = np.where(t >= 0, WHITE + (POS - WHITE) * t, WHITE + (NEG - WHITE) * (-t))
    else:
        k = max(int(snapshot.get("classes", 2)), 2)
        label = np.asarray(snapshot["label"], dtype=np.int64).reshape(-1) % len(CLASS_COLOURS)
        t = np.clip((p - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)[:, None]
        rgb = WHITE + (CLASS_COLOURS[label] - WHITE) * (0.15 + 0.75 * t)
    return np.round(rgb).astype(np.uint8).reshape(size, size, 3)


def boundary_svg(snapshot: dict, X=None, y=None, px: int = 220, title: str = "") -> str:
    """A decision-surface heat map with the data points on top, as one ``<svg>``."""
    uri = data_uri(png(boundary_rgb(snapshot)))
    ext = snapshot["extent"]
    parts = [
        f'<svg class="boundary" xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
        f'viewBox="0 0 {px} {px}" role="img" aria-label="{html.escape(title)}">',
        f"<title>{html.escape(title)}</title>",
        f'<image href="{uri}" x="0" y="0" width="{px}" height="{px}" '
        f'preserveAspectRatio="none" style="image-rendering:auto"/>',
    ]
    if X is not None and y is not None and len(X):
        X = np.asarray(X, dtype=np.float64)
        xs = (X[:, 0] - ext[0]) / (ext[1] - ext[0]) * px
        ys = (ext[3] - X[:, 1]) / (ext[3] - ext[2]) * px
        labels = np.asarray(y).reshape(-1).astype(np.int64) % len(CLASS_COLOURS)
        for cx, cy, c in zip(xs, ys, labels):
            colour = _hex(CLASS_COLOURS[c] * 0.75)
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.4" fill="{colour}" '
                f'stroke="#fff" stroke-width="0.7"/>'
            )
    parts.append(f'<rect width="{px}" height="{px}" fill="none" stroke="#d0d7de"/></svg>')
    return "".join(parts)


# ---- line charts ----------------------------------------------------------------------------
def _nice_ticks(lo: float, hi: float, count: int = 5) -> list:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks, t = [], first
    while t <= hi + 1e-12 * abs(hi) and len(ticks) < 20:
        ticks.append(t)
        t += step
    return ticks


def _label(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4g}"


def line_chart(
    series: list,
    title: str,
    xlabel: str = "epoch",
    width: int = 420,
    height: int = 220,
    log: bool = False,
) -> str:
    """An SVG line chart. ``series``: ``[(name, xs, ys, dashed), ...]``; NaN points are skipped;
    ``log`` draws the y axis in log10 (non-positive values skipped)."""
    left, right, top, bottom = 52, 12, 26, 34
    pts = _finite_points(series, log)
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" class="t">{html.escape(title)}{" (log scale)" if log else ""}'
        "</text>",
    ]
    if not any(len(xs) for _, xs, _, _ in pts):
        out.append(f'<text x="{left}" y="{height / 2}" class="a">no data</text></svg>')
        return "".join(out)
    frame = _Frame(pts, log, left, top, width - left - right, height - top - bottom)
    out += _axes(frame, log, xlabel, height)
    out += _series_lines(frame, pts)
    out.append("</svg>")
    return "".join(out)


def _finite_points(series: list, log: bool) -> list:
    """Each series as float arrays without its missing, infinite (and, for log, <= 0) points;
    on a log chart the y values are already log10."""
    pts = []
    for name, xs, ys, dashed in series:
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray([np.nan if v is None else v for v in ys], dtype=np.float64)
        if log:
            ys = np.where(ys > 0, ys, np.nan)
            ys = np.log10(ys)
        keep = np.isfinite(xs) & np.isfinite(ys)
        pts.append((name, xs[keep], ys[keep], dashed))
    return pts


class _Frame:
    """The plot area of a line chart: the data ranges it shows and the map to SVG pixels."""

    def __init__(self, pts: list, log: bool, left: float, top: float, w: float, h: float):
        all_x = np.concatenate([p[1] for p in pts])
        all_y = np.concatenate([p[2] for p in pts])
        x0, x1 = float(all_x.min()), float(all_x.max())
        y0, y1 = float(all_y.min()), float(all_y.max())
        if not log:  # a positive curve that comes near zero is drawn from zero
            y0 = min(y0, 0.0) if y0 >= 0 and y1 > 0 and y0 < 0.5 * y1 else y0
        if x1 == x0:
            x1 = x0 + 1
        if y1 == y0:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = 0.05 * (y1 - y0)
        self.y0, self.y1 = y0 - (pad if y0 != 0 else 0), y1 + pad
        self.x0, self.x1 = x0, x1
        self.left, self.top, self.w, self.h = left, top, w, h

    def sx(self, v):
        return self.left + (v - self.x0) / (self.x1 - self.x0) * self.w

    def sy(self, v):
        return self.top + (self.y1 - v) / (self.y1 - self.y0) * self.h


def _axes(frame: _Frame, log: bool, xlabel: str, height: int) -> list:
    """Grid lines with y tick labels, x tick labels, the x axis label and the frame's border."""
    left, top, w, h = frame.left, frame.top, frame.w, frame.h
    out = []
    for t in _nice_ticks(frame.y0, frame.y1, 4):
        y = frame.sy(t)
        text = _label(10**t) if log else _label(t)
        out.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" class="g"/>'
            f'<text x="{left - 5}" y="{y + 3:.1f}" class="a" text-anchor="end">{text}</text>'
        )
    for t in _nice_ticks(frame.x0, frame.x1, 5):
        x = frame.sx(t)
        out.append(
            f'<text x="{x:.1f}" y="{top + h + 14}" class="a" text-anchor="middle">'
            f"{_label(t)}</text>"
        )
    out.append(
        f'<text x="{left + w / 2}" y="{height - 4}" class="a" text-anchor="middle">'
        f"{html.escape(xlabel)}</text>"
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#d0d7de"/>'
    )
    return out


def _series_lines(frame: _Frame, pts: list) -> list:
    """One polyline per series (a dot when it has one point) and its legend entry."""
    sx, sy = frame.sx, frame.sy
    out = []
    for k, (name, xs, ys, dashed) in enumerate(pts):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        if len(xs) == 0:
            continue
        coords = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(xs, ys))
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        out.append(
            f'<polyline class="series" data-name="{html.escape(name)}" points="{coords}" '
            f'fill="none" stroke="{colour}" stroke-width="1.8"{dash}/>'
        )
        if len(xs) == 1:
            out.append(f'<circle cx="{sx(xs[0]):.1f}" cy="{sy(ys[0]):.1f}" r="3" fill="{colour}"/>')
        lx = frame.left + 8 + 110 * (k % 3)
        ly = frame.top + 12 + 13 * (k // 3)
        out.append(
            f'<line x1="{lx}" x2="{lx + 14}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" '
            f'stroke-width="2"{dash}/><text x="{lx + 18}" y="{ly}" class="a">'
            f"{html.escape(name)}</text>"
        )
    return out


# ---- the network ----------------------------------------------------------------------------
MAX_DRAWN = 16  # neurons drawn per layer; wider layers show their first ones and a count


def network_svg(layers: list, width: int = 640, height: int = 340) -> str:
    """The network as layers of neurons, each edge's colour its weight's sign and its width the
    weight's size; hover an edge or a neuron for its name and value. ``layers``: one dict per
    Linear layer with ``weight``/``bias`` names and ``W`` ``(out, in)`` / ``b`` arrays."""
    sizes = [layers[0]["W"].shape[1]] + [lay["W"].shape[0] for lay in layers]
    shown = [min(n, MAX_DRAWN) for n in sizes]
    gap_x = (width - 60) / max(len(sizes) - 1, 1)
    r = max(4.0, min(11.0, (height - 40) / (2.6 * max(shown))))

    def pos(layer: int, j: int):
        n = shown[layer]
        gap_y = min(3 * r, (height - 40) / max(n, 1))
        top = (height - gap_y * (n - 1)) / 2
        return 30 + layer * gap_x, top + j * gap_y

    scale = max(float(np.max(np.abs(lay["W"]))) for lay in layers) or 1.0
    out = [
        f'<svg class="network" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="network diagram with final weights">'
    ]
    for k, lay in enumerate(layers):
        W = np.asarray(lay["W"], dtype=np.float64)
        for j in range(shown[k + 1]):
            for i in range(shown[k]):
                v = float(W[j, i])
                x1, y1 = pos(k, i)
                x2, y2 = pos(k + 1, j)
                t = min(1.0, abs(v) / scale)
                colour = _hex(POS) if v >= 0 else _hex(NEG)
                out.append(
                    f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{(x1 + x2) / 2:.1f},{y1:.1f} '
                    f'{(x1 + x2) / 2:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" stroke="{colour}" '
                    f'stroke-opacity="{0.25 + 0.75 * t:.2f}" stroke-width="{0.4 + 4 * t:.2f}" '
                    f'fill="none" data-param="{html.escape(lay["weight"])}" data-index="{j},{i}" '
                    f'data-value="{v!r}"><title>{html.escape(lay["weight"])}[{j}, {i}] = '
                    f"{v:.6g}</title></path>"
                )
    for layer, n in enumerate(shown):
        for j in range(n):
            x, y = pos(layer, j)
            tip = f"input {j}"
            fill = "#fff"
            if layer > 0:
                lay = layers[layer - 1]
                b = float(np.asarray(lay["b"]).reshape(-1)[j]) if lay["b"] is not None else 0.0
                tip = f"{lay['bias']}[{j}] = {b:.6g}" if lay["b"] is not None else "no bias"
                t = max(-1.0, min(1.0, b / scale))
                fill = _hex(WHITE + ((POS if t >= 0 else NEG) - WHITE) * abs(t))
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="#57606a">'
                f"<title>{html.escape(tip)}</title></circle>"
            )
        if sizes[layer] > n:
            x, y = pos(layer, n - 1)
            out.append(
                f'<text x="{x:.1f}" y="{y + 2.4 * r:.1f}" class="a" text-anchor="middle">'
                f"+{sizes[layer] - n} more</text>"
            )
        x, _ = pos(layer, 0)
        name = (
            "input" if layer == 0 else ("output" if layer == len(sizes) - 1 else f"hidden {layer}")
        )
        out.append(
            f'<text x="{x:.1f}" y="14" class="a" text-anchor="middle">{name} ({sizes[layer]})'
            f"</text>"
        )
    out.append("</svg>")
    return "".join(out)
