"""chainrule: each case written with the public API, the way a user writes it.

``nn.Sequential`` of ``nn.Linear`` and activation modules, ``nn.BCEWithLogitsLoss`` or
``nn.CrossEntropyLoss`` and ``optim.SGD`` / ``optim.Adam``. While those parts of the library
are missing (they are built in parallel), the same network is written with ``chainrule.ops``
and a hand-written update, and :data:`API` says which path ran.
"""

from __future__ import annotations

import time

import numpy as np

import chainrule as cr

name = "chainrule"


def _has_layers_api() -> bool:
    """True when nn and optim exist and one tiny training step through them works."""
    try:
        from chainrule import nn, optim

        model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Linear(3, 2))
        model.load_state_dict(model.state_dict())
        for loss_fn, y in (
            (nn.CrossEntropyLoss(), np.array([0, 1])),
            (nn.BCEWithLogitsLoss(), np.ones((2, 2), dtype=np.float32)),
        ):
            for opt in (optim.SGD(model.parameters(), lr=0.1), optim.Adam(model.parameters())):
                opt.zero_grad()
                loss_fn(
                    model(cr.tensor(np.ones((2, 2), dtype=np.float32))), cr.tensor(y)
                ).backward()
                opt.step()
    except Exception:  # noqa: BLE001 - any failure means: use the fallback path
        return False
    return True


API = "nn+optim" if _has_layers_api() else "ops+manual-update"


# ---- the public-API path ----------------------------------------------------------------------
def _model(sizes, hidden, params):
    from chainrule import nn

    activations = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activations[hidden]())
    model = nn.Sequential(*layers)
    state = {}
    linear_index = [i for i, layer in enumerate(layers) if isinstance(layer, nn.Linear)]
    for i, (w, b) in zip(linear_index, params):
        state[f"{i}.weight"] = w
        state[f"{i}.bias"] = b
    model.load_state_dict(state)
    return model


def model_and_loss(case, params):
    """The case's ``nn.Sequential`` and loss module (a sigmoid output layer for ``bce_prob``)."""
    from chainrule import nn

    model = _model(case.sizes, case.hidden, params)
    if case.loss == "bce_prob":  # the seed's own formulation: nn.Sigmoid() then nn.BCELoss()
        return nn.Sequential(*model, nn.Sigmoid()), nn.BCELoss()
    return model, nn.BCEWithLogitsLoss() if case.loss == "bce" else nn.CrossEntropyLoss()


def _build_step_api(case, params):
    from chainrule import optim

    model, loss_fn = model_and_loss(case, params)
    opt = optim.SGD(model.parameters(), lr=case.lr)

    # The batch is wrapped with cr.as_tensor, which shares the array's memory as PyTorch's
    # torch.from_numpy does in impl_torch (cr.tensor would copy it, as torch.tensor does).
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(cr.as_tensor(x)), cr.as_tensor(y))
        loss.backward()
        opt.step()
        return loss

    step.model = model
    return step


# ---- the fallback path: ops and a hand-written update -------------------------------------------
def _bce_with_logits(z, y):
    # max(z, 0) − z·y + ln(1 + e^(−|z|)), the stable form
    return (cr.maximum(z, 0.0) - z * y + cr.log(1.0 + cr.exp(-cr.abs(z)))).mean()


def _cross_entropy(z, y):
    logp = z - z.logsumexp(axis=1, keepdims=True)
    return -logp[np.arange(len(y)), y].mean()


def _build_step_ops(case, params):
    layers = [
        (cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True)) for w, b in params
    ]
    activation = {"relu": cr.relu, "tanh": cr.tanh, "sigmoid": cr.sigmoid}[case.hidden]
    loss_fn = _bce_with_logits if case.loss == "bce" else _cross_entropy
    flat = [p for pair in layers for p in pair]
    lr = case.lr
    last = len(layers) - 1

    def step(x, y):
        for p in flat:
            p.grad = None
        h = cr.tensor(x)
        for i, (w, b) in enumerate(layers):
            h = cr.linear(h, w, b)
            if i < last:
                h = activation(h)
        loss = loss_fn(h, cr.tensor(y))
        loss.backward()
        for p in flat:
            p.data -= lr * p.grad
        return loss

    step.params = layers
    return step


def build_mlp_step(case, params, batches=None):
    """Return ``step(x, y) -> loss`` (NumPy batches in, a loss tensor out)."""
    if API == "nn+optim":
        return _build_step_api(case, params)
    return _build_step_ops(case, params)


def build_per_op(chain: int, size: int):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(size).astype(np.float32)
    c = cr.tensor((1.0 + 0.001 * rng.standard_normal(size)).astype(np.float32))
    x_const = cr.tensor(x_np)
    x = cr.tensor(x_np.copy(), requires_grad=True)
    ones = np.ones(size, dtype=np.float32)

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
    batch = cfg["batch"]
    if API == "nn+optim":
        from chainrule import nn, optim

        model = _model((X_train.shape[1], cfg["hidden"], 10), "relu", params)
        loss_fn = nn.CrossEntropyLoss()
        opt = optim.Adam(model.parameters(), lr=cfg["lr"])
        start = time.perf_counter()
        for order in orders:
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                opt.zero_grad()
                loss = loss_fn(model(cr.as_tensor(X_train[idx])), cr.as_tensor(y_train[idx]))
                loss.backward()
                opt.step()
        fit_s = time.perf_counter() - start
        with cr.no_grad():
            logits = model(cr.tensor(X_test)).numpy()
    else:
        layers = [
            (cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True)) for w, b in params
        ]
        flat = [p for pair in layers for p in pair]
        m = [np.zeros_like(p.data) for p in flat]
        v = [np.zeros_like(p.data) for p in flat]
        lr, beta1, beta2, eps = cfg["lr"], 0.9, 0.999, 1e-8
        t = 0
        start = time.perf_counter()
        for order in orders:
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                for p in flat:
                    p.grad = None
                h = cr.relu(cr.linear(cr.tensor(X_train[idx]), *layers[0]))
                loss = _cross_entropy(cr.linear(h, *layers[1]), y_train[idx])
                loss.backward()
                t += 1
                for p, m_p, v_p in zip(flat, m, v):
                    m_p *= beta1
                    m_p += (1 - beta1) * p.grad
                    v_p *= beta2
                    v_p += (1 - beta2) * p.grad * p.grad
                    m_hat = m_p / (1 - beta1**t)
                    v_hat = v_p / (1 - beta2**t)
                    p.data -= lr * m_hat / (np.sqrt(v_hat) + eps)
        fit_s = time.perf_counter() - start
        with cr.no_grad():
            logits = cr.linear(cr.relu(cr.linear(cr.tensor(X_test), *layers[0])), *layers[1])
            logits = logits.numpy()
    return fit_s, float(np.mean(logits.argmax(axis=1) == y_test))
