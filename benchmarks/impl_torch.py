"""PyTorch (CPU): each case written the way the PyTorch tutorials write it."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

name = "torch"

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def _model(sizes, hidden, params=None):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[hidden]())
    model = nn.Sequential(*layers)
    if params is not None:
        linears = [m for m in model if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for layer, (w, b) in zip(linears, params):
                layer.weight.copy_(torch.from_numpy(w))
                layer.bias.copy_(torch.from_numpy(b))
    return model


def build_mlp_step(case, params, batches=None):
    """Return ``step(x, y) -> loss`` (NumPy batches in, a loss tensor out)."""
    model = _model(case.sizes, case.hidden, params)
    loss_fn = {"bce": nn.BCEWithLogitsLoss, "ce": nn.CrossEntropyLoss, "bce_prob": nn.BCELoss}
    loss_fn = loss_fn[case.loss]()
    if case.loss == "bce_prob":  # the seed's own formulation: a sigmoid output layer
        model.append(nn.Sigmoid())
    opt = torch.optim.SGD(model.parameters(), lr=case.lr)

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()
        return loss

    step.model = model
    return step


def build_per_op(chain: int, size: int):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(size).astype(np.float32)
    c = torch.from_numpy((1.0 + 0.001 * rng.standard_normal(size)).astype(np.float32))
    x_const = torch.from_numpy(x_np)
    x = torch.from_numpy(x_np.copy()).requires_grad_(True)
    ones = torch.ones(size)

    def forward():
        h = x_const
        for _ in range(chain):
            h = h * c
        return h

    def forward_graph():
        h = x
        for _ in range(chain):
            h = h * c
        return h

    def forward_backward():
        h = x
        for _ in range(chain):
            h = h * c
        h.backward(ones)
        x.grad = None
        return h

    return {
        "forward": forward,
        "forward_graph": forward_graph,
        "forward_backward": forward_backward,
    }


def fit_digits(X_train, y_train, X_test, y_test, orders, params, cfg):
    """Train 64 → hidden ReLU → 10 with Adam; returns (fit seconds, test accuracy)."""
    import time

    model = _model((X_train.shape[1], cfg["hidden"], 10), "relu", params)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    X = torch.from_numpy(X_train)
    y = torch.from_numpy(y_train)
    batch = cfg["batch"]
    start = time.perf_counter()
    for order in orders:
        order = torch.from_numpy(order)
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
    fit_s = time.perf_counter() - start
    with torch.no_grad():
        pred = model(torch.from_numpy(X_test)).argmax(dim=1).numpy()
    return fit_s, float(np.mean(pred == y_test))
