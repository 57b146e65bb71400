"""Which im2col column layout is faster: channels-last or channels-first (forward + backward).

Run: ``python -m benchmarks.bench_conv_layout``. Both variants compute the same convolution
(checked); the ratio of their median times, alternating in one process, decides the layout that
``chainrule.ops.conv`` uses.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.lib.stride_tricks import as_strided

SHAPES = {  # name: (N, C, H, W, C_out, k, padding)
    "lenet conv1 64x1x28x28 -> 6, k5 p2": (64, 1, 28, 28, 6, 5, 2),
    "lenet conv2 64x6x14x14 -> 16, k5": (64, 6, 14, 14, 16, 5, 0),
    "vgg-ish 32x32x16x16 -> 32, k3 p1": (32, 32, 16, 16, 32, 3, 1),
}


def channels_last(x, w, p):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.zeros((n, h + 2 * p, wd + 2 * p, c), x.dtype)
    xp[:, p : p + h, p : p + wd] = x.transpose(0, 2, 3, 1)
    oh, ow = h + 2 * p - k + 1, wd + 2 * p - k + 1
    s = xp.strides
    win = as_strided(xp, (n, oh, ow, k, k, c), (s[0], s[1], s[2], s[1], s[2], s[3]))
    cols = win.reshape(n * oh * ow, k * k * c)
    w_mat = w.transpose(2, 3, 1, 0).reshape(k * k * c, o)
    out = cols.dot(w_mat)
    grad = np.ones_like(out)
    grad_w = cols.T.dot(grad)
    grad_cols = grad.dot(w_mat.T).reshape(n, oh, ow, k, k, c)
    gx = np.zeros_like(xp)
    for i in range(k):
        for j in range(k):
            gx[:, i : i + oh, j : j + ow] += grad_cols[:, :, :, i, j]
    return out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2), grad_w


def channels_first(x, w, p):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = h + 2 * p - k + 1, wd + 2 * p - k + 1
    s = xp.strides
    win = as_strided(xp, (c, k, k, n, oh, ow), (s[1], s[2], s[3], s[0], s[2], s[3]))
    cols = win.reshape(c * k * k, n * oh * ow)
    w_mat = w.reshape(o, c * k * k)
    out = w_mat.dot(cols)
    grad = np.ones_like(out)
    grad_w = grad.dot(cols.T)
    grad_cols = w_mat.T.dot(grad).reshape(c, k, k, n, oh, ow)
    gx = np.zeros((n, c, h + 2 * p, wd + 2 * p), x.dtype)
    for i in range(k):
        for j in range(k):
            gx[:, :, i : i + oh, j : j + ow] += grad_cols[:, i, j].transpose(1, 0, 2, 3)
    return out.reshape(o, n, oh, ow).transpose(1, 0, 2, 3), grad_w


def main(repeats: int = 30) -> None:
    rng = np.random.default_rng(0)
    for name, (n, c, h, wd, o, k, p) in SHAPES.items():
        x = rng.standard_normal((n, c, h, wd)).astype(np.float32)
        w = rng.standard_normal((o, c, k, k)).astype(np.float32)
        a, b = channels_last(x, w, p)[0], channels_first(x, w, p)[0]
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
        times = {"last": [], "first": []}
        for _ in range(repeats):  # alternate, so both see the same machine load
            for label, fn in (("last", channels_last), ("first", channels_first)):
                start = time.perf_counter()
                fn(x, w, p)
                times[label].append(time.perf_counter() - start)
        last, first = np.median(times["last"]), np.median(times["first"])
        print(f"{name:40s} channels-first / channels-last = {first / last:.2f}")


if __name__ == "__main__":
    main()
