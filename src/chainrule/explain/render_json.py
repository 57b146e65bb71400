"""JSON: every number of the report, for tools (``report.data``, serialised)."""

from __future__ import annotations

import json
import math

import numpy as np


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else str(v)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def render(report, indent: int | None = 2) -> str:
    return json.dumps(_clean(report.data), indent=indent, ensure_ascii=False)
