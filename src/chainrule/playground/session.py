"""The training session behind the playground page, run on the chainrule engine.

A :class:`Session` holds one run: the data (split into training and validation parts), a
float64 multi-layer perceptron, its loss and optimizer, and the position in the current epoch.
Every number the page shows comes from here: training steps, the decision surface, each
neuron's output, the chain-rule explanation of one weight (``chainrule.explain``) and the
step-through of one sample. The page only draws.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile

import numpy as np

from chainrule.autograd.grad_mode import no_grad
from chainrule.errors import DataError, NonFiniteError
from chainrule.playground.validation import (
    MAX_CLASSES,
    MAX_UPLOAD_ROWS,
    Config,
    ValidationError,
    sample_index,
)
from chainrule.report import views
from chainrule.tensor import Tensor

BOUNDARY_SIZE = 48  # cells per side of the decision-surface heat map
NEURON_SIZE = 20  # cells per side of each neuron's small heat map
MAX_HISTORY = 1000  # points kept per loss curve (older ones are thinned out)


class Upload:
    """A CSV the user sent: two numeric features (standardised) and class labels."""

    def __init__(self, X: np.ndarray, y: np.ndarray, feature_names, class_names, filename: str):
        self.X = X
        self.y = y
        self.feature_names = list(feature_names)
        self.class_names = list(class_names)
        self.filename = filename


def parse_upload(text: str, target: str | None = None, filename: str = "upload.csv") -> Upload:
    """Read an uploaded CSV with :func:`chainrule.data.load_csv`: exactly two numeric feature
    columns and a label column (``target``, default the last column).

    Raises:
        ValidationError: the file does not have that shape (the message says what it has).
    """
    from chainrule.data import load_csv

    if not text.strip():
        raise ValidationError("the uploaded file is empty")
    first = text.lstrip("\ufeff").splitlines()[0]
    header = [h.strip().strip('"') for h in first.replace(";", ",").replace("\t", ",").split(",")]
    target = target or header[-1]
    fd, path = tempfile.mkstemp(suffix=".csv", prefix="chainrule-upload-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            data = load_csv(path, target=target)
        except DataError as err:
            raise ValidationError(str(err).replace(path, filename)) from None
    finally:
        os.unlink(path)
    if data.task == "regression":
        raise ValidationError(
            f"{filename}: column {target!r} holds numbers with many values; the playground "
            f"classifies, so the label column needs class labels"
        )
    if data.X.shape[1] != 2:
        raise ValidationError(
            f"{filename}: the playground draws two features; the file has "
            f"{len(data.feature_names)} feature columns ({', '.join(data.feature_names)}) "
            f"besides the label {target!r}"
        )
    if len(data.X) > MAX_UPLOAD_ROWS or len(data.X) < 4:
        raise ValidationError(
            f"{filename}: needs between 4 and {MAX_UPLOAD_ROWS} rows; got {len(data.X)}"
        )
    classes = list(data.class_names or [])
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise ValidationError(
            f"{filename}: the label column needs 2 to {MAX_CLASSES} classes; got {len(classes)}"
        )
    X = np.asarray(data.X, dtype=np.float64)
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return Upload(X, np.asarray(data.y, dtype=np.int64), data.feature_names, classes, filename)


def load_data(cfg: Config, upload: Upload | None):
    """``(X, y, class_names)`` of the chosen dataset."""
    from chainrule.data import datasets

    name = cfg.dataset
    if name == "upload":
        if upload is None:
            raise ValidationError("dataset 'upload' needs a CSV file: upload one first")
        return upload.X, upload.y, upload.class_names
    if name == "xor":
        X, y = datasets.xor()
    elif name == "seed_example":
        X, y = datasets.seed_example(n=cfg.samples, seed=cfg.seed)
    elif name == "blobs":
        X, y = datasets.blobs(n=cfg.samples, seed=cfg.seed)
    else:
        X, y = getattr(datasets, name)(n=cfg.samples, noise=cfg.noise, seed=cfg.seed)
    return X, y, [str(c) for c in np.unique(y)]


def _round(a, digits: int = 5) -> list:
    """Rounded numbers for JSON; NaN and infinity (a diverged run) become None."""
    a = np.round(np.asarray(a, dtype=np.float64), digits)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


def _finite(value):
    return value if value is None or math.isfinite(value) else None


class Session:
    """One playground run. Create it with a validated :class:`Config`; call :meth:`step`,
    :meth:`step_epoch`, :meth:`frame`, :meth:`explain`, :meth:`trace`."""

    def __init__(self, cfg: Config | None = None, upload: Upload | None = None):
        self.upload = upload
        self.data_version = 0
        self.configure(cfg or Config())

    # ---- building ------------------------------------------------------------------------
    def configure(self, cfg: Config) -> None:
        """Start a new run from ``cfg`` (new data, new weights, step 0)."""
        import chainrule as cr
        from chainrule import nn
        from chainrule.data import train_test_split
        from chainrule.models import mlp

        X, y, classes = load_data(cfg, self.upload)
        n_classes = len(classes)
        loss = cfg.loss
        if loss == "auto":
            loss = "bce" if n_classes == 2 else "ce"
        if loss in ("bce", "mse") and n_classes != 2:
            raise ValidationError(
                f"loss {loss!r} needs two classes; dataset {cfg.dataset!r} has {n_classes} "
                f"(choose 'ce', cross-entropy)"
            )
        if cfg.validation > 0 and len(X) >= 10:
            counts = np.bincount(y)
            stratify = y if counts[counts > 0].min() >= 2 else None
            X_tr, X_val, y_tr, y_val = train_test_split(
                X, y, test_size=cfg.validation, stratify=stratify, seed=cfg.seed
            )
        else:
            X_tr, y_tr, X_val, y_val = X, y, X[:0], y[:0]
        if cfg.batch_size > len(X_tr):
            raise ValidationError(
                f"batch_size {cfg.batch_size} is larger than the {len(X_tr)} training samples"
            )
        self.cfg = cfg
        self.loss_name = loss
        self.classes = classes
        self.X, self.y = np.asarray(X_tr, dtype=np.float64), np.asarray(y_tr)
        self.X_val, self.y_val = np.asarray(X_val, dtype=np.float64), np.asarray(y_val)
        self.extent = views.extent(X)
        outputs = n_classes if loss == "ce" else 1
        cr.manual_seed(cfg.seed)
        self.model = mlp(2, list(cfg.hidden), outputs, activation=cfg.activation, dtype="float64")
        self.loss_fn = {
            "bce": nn.BCEWithLogitsLoss,
            "ce": nn.CrossEntropyLoss,
            "mse": nn.MSELoss,
        }[loss]()
        self.kind = "scores" if loss == "ce" else ("value" if loss == "mse" else "logit")
        self.optimizer = self._optimizer(cfg)
        self.generator = cr.Generator(cfg.seed)
        self.order = np.arange(0)
        self.cursor = 0
        self.step_count = 0
        self.epoch = 0
        self.last_batch = None
        self.last_batch_loss = None
        self.error = None
        self.history = {"epoch": [], "loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []}
        self.data_version += 1
        self._record()

    def _optimizer(self, cfg: Config):
        from chainrule import optim

        params = self.model.parameters()
        wd = cfg.weight_decay
        if cfg.optimizer == "sgd":
            return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd)
        if cfg.optimizer == "adam":
            return optim.Adam(params, lr=cfg.lr, weight_decay=wd)
        if cfg.optimizer == "adamw":
            return optim.AdamW(params, lr=cfg.lr, weight_decay=wd)
        if cfg.optimizer == "rmsprop":
            return optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd)
        return optim.Adagrad(params, lr=cfg.lr, weight_decay=wd)

    def reset(self) -> None:
        """The same settings from step 0 (same seed: the same initial weights and data)."""
        self.configure(self.cfg)

    # ---- targets and scores ----------------------------------------------------------------
    def targets(self, y: np.ndarray):
        """Labels in the form the loss wants: class indices for CE, a float column otherwise."""
        if self.loss_name == "ce":
            return np.asarray(y, dtype=np.int64)
        return np.asarray(y, dtype=np.float64).reshape(-1, 1)

    def _loss_of(self, X: np.ndarray, y: np.ndarray) -> float:
        with no_grad():
            out = self.model(Tensor._make(X, False))
            return float(self.loss_fn(out, Tensor._make(self.targets(y), False)).data)

    def _accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        probs = views.probabilities(views.run(self.model, X), self.kind)
        pred = probs.argmax(axis=1) if probs.ndim == 2 else (probs > 0.5).astype(np.int64)
        return float((pred == y).mean())

    def scores(self) -> dict:
        with np.errstate(all="ignore"):
            return {k: _finite(v) for k, v in self._scores().items()}

    def _scores(self) -> dict:
        out = {
            "loss": self._loss_of(self.X, self.y),
            "accuracy": self._accuracy(self.X, self.y),
            "val_loss": None,
            "val_accuracy": None,
        }
        if len(self.X_val):
            out["val_loss"] = self._loss_of(self.X_val, self.y_val)
            out["val_accuracy"] = self._accuracy(self.X_val, self.y_val)
        return out

    def _record(self) -> None:
        s = self.scores()
        h = self.history
        h["epoch"].append(self.epoch)
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            h[key].append(s[key])
        if len(h["epoch"]) > MAX_HISTORY:  # keep the first point, thin out the rest
            for key in h:
                h[key] = h[key][:1] + h[key][2::2]

    # ---- training ------------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.X) / self.cfg.batch_size)

    def step(self) -> float:
        """One optimizer step on the next batch; returns the batch loss.

        Raises:
            NonFiniteError: the loss or a gradient is not finite, or the step would make a
                weight infinite (the weights are left as they were before the step).
        """
        if self.cursor >= len(self.order):
            self.order = self.generator.numpy.permutation(len(self.X))
            self.cursor = 0
        idx = self.order[self.cursor : self.cursor + self.cfg.batch_size]
        self.cursor += len(idx)
        x = Tensor._make(self.X[idx], False)
        t = Tensor._make(self.targets(self.y[idx]), False)
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(x), t)
        value = float(loss.data)
        if not math.isfinite(value):
            self._fail(f"the loss became {value} at step {self.step_count + 1}")
        loss.backward()
        params = list(self.model.parameters())
        if not all(p.grad is None or np.isfinite(p.grad).all() for p in params):
            self._fail(f"a gradient became NaN or infinite at step {self.step_count + 1}")
        before = [p.data.copy() for p in params]
        self.optimizer.step()
        if not all(np.isfinite(p.data).all() for p in params):
            for p, old in zip(params, before):
                p.data[...] = old
            self._fail(f"the update at step {self.step_count + 1} made a weight infinite")
        self.step_count += 1
        self.last_batch = idx
        self.last_batch_loss = value
        if self.cursor >= len(self.order):
            self.epoch += 1
            self._record()
        return value

    def _fail(self, what: str):
        self.error = f"training stopped: {what}; lower the learning rate and press Reset"
        raise NonFiniteError(self.error)

    def step_epoch(self) -> None:
        """Steps up to the end of the current epoch (a whole epoch when at its start)."""
        start = self.epoch
        while self.epoch == start:
            self.step()

    # ---- views ---------------------------------------------------------------------------
    def network(self) -> dict:
        layers = []
        for (index, lin), act in zip(
            views.linear_layers(self.model), views.activation_names(self.model)
        ):
            w, b = lin.weight, lin.bias
            layers.append(
                {
                    "index": index,
                    "weight": f"{index}.weight",
                    "bias": f"{index}.bias",
                    "in": lin.in_features,
                    "out": lin.out_features,
                    "activation": act,
                    "W": _round(w.data),
                    "b": _round(b.data),
                    "gW": None if w.grad is None else _round(w.grad, 7),
                    "gb": None if b.grad is None else _round(b.grad, 7),
                }
            )
        return {"sizes": [2] + [lay["out"] for lay in layers], "layers": layers}

    def frame(self, full: bool = False) -> dict:
        """Everything the page draws after a step (``full`` adds the data points)."""
        b = views.boundary(self.model, self.extent, BOUNDARY_SIZE, self.kind)
        boundary = {
            "size": b["size"],
            "extent": b["extent"],
            "classes": b["classes"],
            "p": _round(b["p"], 3),
        }
        if "label" in b:
            boundary["label"] = b["label"].astype(int).tolist()
        outs = views.layer_outputs(self.model, views.grid(self.extent, NEURON_SIZE))
        neurons = [
            {
                "size": NEURON_SIZE,
                "min": _round(o.min(axis=0), 4),
                "max": _round(o.max(axis=0), 4),
                "maps": [_round(o[:, j], 3) for j in range(o.shape[1])],
            }
            for o in outs
        ]
        frame = {
            "type": "frame",
            "step": self.step_count,
            "epoch": self.epoch,
            "batch": self.cursor if self.cursor < len(self.order) else 0,
            "steps_per_epoch": self.steps_per_epoch,
            "batch_loss": _finite(self.last_batch_loss),
            "scores": self.scores(),
            "history": self.history,
            "boundary": boundary,
            "network": self.network(),
            "neurons": neurons,
            "error": self.error,
            "data_version": self.data_version,
            "config": self.cfg.to_dict(),
            "loss_name": self.loss_name,
        }
        if full:
            frame["data"] = {
                "train": {"X": _round(self.X, 4), "y": self.y.astype(int).tolist()},
                "val": {"X": _round(self.X_val, 4), "y": self.y_val.astype(int).tolist()},
                "classes": self.classes,
                "extent": self.extent,
            }
        return frame

    # ---- one sample ----------------------------------------------------------------------
    def sample(self, index, split: str = "train"):
        if split not in ("train", "val"):
            raise ValidationError(f"split must be 'train' or 'val'; got {split!r}")
        X, y = (self.X, self.y) if split == "train" else (self.X_val, self.y_val)
        i = sample_index(index, len(X), f"{split} sample")
        return i, X[i : i + 1], self.targets(y[i : i + 1])

    def parameter(self, name, index) -> tuple:
        params = dict(self.model.named_parameters())
        if not isinstance(name, str) or name not in params:
            raise ValidationError(f"unknown parameter {name!r}; the model has {', '.join(params)}")
        shape = params[name].data.shape
        if not isinstance(index, (list, tuple)) or len(index) != len(shape):
            raise ValidationError(
                f"index of {name} must list {len(shape)} whole number(s) (shape {list(shape)}); "
                f"got {index!r}"
            )
        idx = tuple(sample_index(i, n, f"index into {name}") for i, n in zip(index, shape))
        return params[name], idx

    def engine_grad(self, name: str, index: tuple, x: np.ndarray, t: np.ndarray) -> float:
        """∂E/∂(that weight) for one sample, by the engine's ``backward`` on a copy of the
        model: the value ``.grad`` holds after ``loss.backward()``."""
        twin = copy.deepcopy(self.model)
        twin.zero_grad()
        loss = self.loss_fn(twin(Tensor._make(x, False)), Tensor._make(t, False))
        loss.backward()
        grad = dict(twin.named_parameters())[name].grad
        return float(grad[index]) if grad is not None else 0.0

    def explain(self, name, index, sample, split: str = "train") -> dict:
        """The chain-rule explanation of one weight or bias for one sample, with the numbers of
        the current step (``chainrule.explain``), and the engine's own gradient beside it."""
        from chainrule.explain import explain

        param, idx = self.parameter(name, index)
        i, x, t = self.sample(sample, split)
        label = f"{name}[{', '.join(str(k) for k in idx)}]"
        report = explain(
            self.model,
            x,
            t,
            self.loss_fn,
            lr=self.cfg.lr,
            param=label,
            title=f"{label}, {split} sample {i}, step {self.step_count}",
        )
        chain = report.data["chains"][0]
        return {
            "param": label,
            "name": name,
            "index": list(idx),
            "sample": i,
            "split": split,
            "step": self.step_count,
            "x": _round(x[0], 9),
            "target": np.asarray(t).reshape(-1).tolist(),
            "value": float(param.data[idx]),
            "grad": float(chain["total"]),
            "engine_grad": self.engine_grad(name, idx, x, t),
            "lr": self.cfg.lr,
            "paths": chain.get("path_count", len(chain["paths"])),
            "chain": [
                {
                    "factors": [
                        {"symbol": f["symbol"], "formula": f["formula"], "value": f["value"]}
                        for f in path["factors"]
                    ],
                    "product": path["product"],
                }
                for path in chain["paths"][:6]
            ],
            "html": report.html(),
        }

    def trace(self, sample, split: str = "train") -> dict:
        """One sample through the network: forward layer by layer, the deltas layer by layer
        back from the output, and the update the optimizer would make (on a copy: the session's
        model is not changed)."""
        i, x, t = self.sample(sample, split)
        twin, opt = copy.deepcopy((self.model, self.optimizer))
        opt.zero_grad()
        modules = list(twin)
        h = Tensor._make(x, False)
        forward, z = [], None
        for k, module in enumerate(modules):
            h = module(h)
            if hasattr(module, "in_features"):
                z = h
            nxt = modules[k + 1] if k + 1 < len(modules) else None
            if nxt is None or hasattr(nxt, "in_features"):
                forward.append({"z": _round(z.data[0], 9), "a": _round(h.data[0], 9)})
        loss = self.loss_fn(h, Tensor._make(t, False))
        loss.backward()
        linears = views.linear_layers(twin)
        acts = views.activation_names(twin)
        for layer, act in zip(forward, acts):
            layer["activation"] = act
        # For one sample the delta of a layer, ∂E/∂z, is exactly its bias gradient.
        backward = [
            {"layer": k + 1, "delta": _round(lin.bias.grad, 9)}
            for k, (_, lin) in reversed(list(enumerate(linears)))
        ]
        old = {n: p.data.copy() for n, p in twin.named_parameters()}
        grads = {n: p.grad.copy() for n, p in twin.named_parameters()}
        opt.step()
        update = [
            {
                "name": n,
                "old": _round(old[n], 9),
                "grad": _round(grads[n], 9),
                "new": _round(p.data, 9),
            }
            for n, p in twin.named_parameters()
        ]
        return {
            "sample": i,
            "split": split,
            "x": _round(x[0], 9),
            "target": np.asarray(t).reshape(-1).tolist(),
            "forward": forward,
            "output": _round(h.data[0], 9),
            "loss": float(loss.data),
            "loss_name": self.loss_name,
            "backward": backward,
            "update": update,
            "optimizer": self.cfg.optimizer,
            "lr": self.cfg.lr,
        }
