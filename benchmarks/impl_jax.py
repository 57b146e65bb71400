"""JAX (CPU): each case as one ``jax.jit``-compiled SGD (or Adam) step, the peer a speed-minded
user picks. The whole step (forward, ``jax.value_and_grad``, update) is one compiled function
with the parameters donated, so XLA may update them in place; each step waits for its result
(``block_until_ready``), as the other implementations are synchronous.

Optional: install with ``pip install chainrule[bench]``; the runner skips JAX with a note when
it is missing.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

name = "jax"
API = f"jax {jax.__version__} jit"

_ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}


def _forward(params, x, hidden):
    act = _ACTIVATIONS[hidden]
    h = x
    last = len(params) - 1
    for i, (w, b) in enumerate(params):
        h = h @ w.T + b
        if i < last:
            h = act(h)
    return h


def loss_value(h, y, loss: str):
    """The case's loss of the last layer's output ``h`` (PyTorch's formulas)."""
    if loss == "bce":  # logits: max(z, 0) − z·y + ln(1 + e^(−|z|))
        return jnp.mean(jnp.maximum(h, 0) - h * y + jnp.log1p(jnp.exp(-jnp.abs(h))))
    if loss == "bce_prob":  # a sigmoid output and BCE on probabilities, logs clamped at −100
        p = jax.nn.sigmoid(h)
        log_p = jnp.maximum(jnp.log(p), -100.0)
        log_q = jnp.maximum(jnp.log1p(-p), -100.0)
        return -jnp.mean(y * log_p + (1 - y) * log_q)
    picked = jnp.take_along_axis(h, y[:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(h, axis=1) - picked)


def build_mlp_step(case, params, batches=None):
    """Return ``step(x, y) -> loss`` that trains copies of ``params`` with one jitted SGD step."""
    lr = case.lr

    def loss_fn(p, x, y):
        return loss_value(_forward(p, x, case.hidden), y, case.loss)

    def sgd(p, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        return jax.tree.map(lambda w, g: w - lr * g, p, grads), loss

    sgd = jax.jit(sgd, donate_argnums=0)
    state = [[(jnp.asarray(w), jnp.asarray(b)) for w, b in params]]
    index = case.loss == "ce"

    def step(x, y):
        state[0], loss = sgd(state[0], x, y.astype(np.int32) if index else y)
        return loss.block_until_ready()

    step.state = state
    return step


def fit_digits(X_train, y_train, X_test, y_test, orders, params, cfg):
    """Train 64 → hidden ReLU → 10 with Adam (PyTorch's defaults); (fit seconds, accuracy).

    The step is compiled before the clock starts; the fit time is the training alone.
    """
    lr, beta1, beta2, eps = cfg["lr"], 0.9, 0.999, 1e-8

    def loss_fn(p, x, y):
        return loss_value(_forward(p, x, "relu"), y, "ce")

    def adam(p, m, v, t, x, y):
        grads = jax.grad(loss_fn)(p, x, y)
        m = jax.tree.map(lambda m_, g: beta1 * m_ + (1 - beta1) * g, m, grads)
        v = jax.tree.map(lambda v_, g: beta2 * v_ + (1 - beta2) * g * g, v, grads)
        c1, c2 = 1 - beta1**t, 1 - beta2**t
        p = jax.tree.map(lambda w, m_, v_: w - lr * (m_ / c1) / (jnp.sqrt(v_ / c2) + eps), p, m, v)
        return p, m, v

    adam = jax.jit(adam, donate_argnums=(0, 1, 2))
    p = [(jnp.asarray(w), jnp.asarray(b)) for w, b in params]
    m = jax.tree.map(jnp.zeros_like, p)
    v = jax.tree.map(jnp.zeros_like, p)
    y_train = y_train.astype(np.int32)
    batch = cfg["batch"]
    # Compile first, outside the timing (a full batch and the smaller last one), on copies so
    # the real state is untouched; the fit time is then training alone, as for the others.
    for size in {batch, len(orders[0]) % batch or batch}:
        copies = [jax.tree.map(jnp.copy, tree) for tree in (p, m, v)]
        adam(*copies, jnp.float32(1), X_train[:size], y_train[:size])
    t = 0
    start = time.perf_counter()
    for order in orders:
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            t += 1
            p, m, v = adam(p, m, v, jnp.float32(t), X_train[idx], y_train[idx])
    jax.block_until_ready(p)
    fit_s = time.perf_counter() - start
    pred = np.asarray(_forward(p, jnp.asarray(X_test), "relu")).argmax(axis=1)
    return fit_s, float(np.mean(pred == y_test))


def build_lenet_step(state: dict, lr: float):
    """LeNet-5 (benchmarks/bench_lenet.py) as one jitted SGD step, from a PyTorch-layout
    ``state_dict`` of NumPy arrays; returns ``step(x, y) -> loss``."""
    from jax import lax

    def conv(x, w, b, pad):
        dims = ("NCHW", "OIHW", "NCHW")
        y = lax.conv_general_dilated(x, w, (1, 1), [(pad, pad)] * 2, dimension_numbers=dims)
        return y + b[None, :, None, None]

    def pool(x):
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def loss_fn(p, x, y):
        h = pool(jax.nn.relu(conv(x, p["0.weight"], p["0.bias"], 2)))
        h = pool(jax.nn.relu(conv(h, p["3.weight"], p["3.bias"], 0)))
        h = h.reshape(h.shape[0], -1)
        for i in ("7", "9"):
            h = jax.nn.relu(h @ p[f"{i}.weight"].T + p[f"{i}.bias"])
        return loss_value(h @ p["11.weight"].T + p["11.bias"], y, "ce")

    def sgd(p, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        return jax.tree.map(lambda w, g: w - lr * g, p, grads), loss

    sgd = jax.jit(sgd, donate_argnums=0)
    params = [{k: jnp.asarray(np.array(v)) for k, v in state.items()}]

    def step(x, y):
        params[0], loss = sgd(params[0], x, y.astype(np.int32))
        return float(loss)

    return step
