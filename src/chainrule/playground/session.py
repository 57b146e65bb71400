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

import numpy as np

from chainrule import registry
from chainrule.autograd.grad_mode import no_grad
from chainrule.errors import NonFiniteError
from chainrule.playground.chain_terms import factor_target, term
from chainrule.playground.data import Upload, load_data, parse_upload, regression_data
from chainrule.playground.numbers import finite_or_none as _finite
from chainrule.playground.numbers import rounded as _round
from chainrule.playground.validation import (
    Config,
    ValidationError,
    sample_index,
    task_of,
    weight_value,
)
from chainrule.report import views
from chainrule.tensor import Tensor
from chainrule.train.callback_list import CallbackList
from chainrule.train.guard import FiniteGuard
from chainrule.train.step import train_step

__all__ = ["Session", "Upload", "load_data", "parse_upload", "regression_data"]

BOUNDARY_SIZE = 48  # cells per side of the decision-surface heat map
NEURON_SIZE = 20  # cells per side of each neuron's small heat map
MAX_HISTORY = 1000  # points kept per loss curve (older ones are thinned out)
CURVE_POINTS = 120  # points of the fitted curve of a one-input regression
MAX_PATHS_SHOWN = 12  # chain-rule paths sent to the page, largest first


def _choose_loss(cfg: Config, task: str, n_classes: int) -> str:
    """The loss name (a key of ``chainrule.registry.LOSSES``) for ``cfg.loss`` on this task."""
    loss = cfg.loss
    if task == "regression":
        if loss not in ("auto", "mse"):
            raise ValidationError(
                f"loss {loss!r} is for classes; dataset {cfg.dataset!r} is a function to "
                f"fit (choose 'mse' or 'auto')"
            )
        loss = "mse"
    elif loss == "auto":
        loss = "bce" if n_classes == 2 else "ce"
    if task == "classification" and loss in ("bce", "mse") and n_classes != 2:
        raise ValidationError(
            f"loss {loss!r} needs two classes; dataset {cfg.dataset!r} has {n_classes} "
            f"(choose 'ce', cross-entropy)"
        )
    return loss


class Session:
    """One playground run. Create it with a validated :class:`Config`; call :meth:`step`,
    :meth:`step_epoch`, :meth:`frame`, :meth:`explain`, :meth:`trace`.

    ``callbacks`` (:class:`~chainrule.callbacks.Callback` objects) hear each batch as in
    ``cr.fit``: ``on_epoch_begin`` at the start of an epoch, ``on_batch_begin`` and
    ``on_batch_end`` (logs ``{"loss", "size"}``) around each step, ``on_epoch_end`` with the
    epoch's scores.
    """

    def __init__(self, cfg: Config | None = None, upload: Upload | None = None, callbacks=()):
        self.upload = upload
        self.callbacks = CallbackList(callbacks, owner="playground")
        self.data_version = 0
        self.configure(cfg or Config())

    # ---- building ------------------------------------------------------------------------
    def configure(self, cfg: Config) -> None:
        """Start a new run from ``cfg`` (new data, new weights, step 0)."""
        import chainrule as cr
        from chainrule.data import train_test_split
        from chainrule.models import mlp

        X, y, classes = load_data(cfg, self.upload)
        task = task_of(cfg.dataset)
        n_classes = 0 if classes is None else len(classes)
        loss = _choose_loss(cfg, task, n_classes)
        if cfg.validation > 0 and len(X) >= 10:
            stratify = None
            if task == "classification":
                counts = np.bincount(y)
                stratify = y if counts[counts > 0].min() >= 2 else None
            X_tr, X_val, y_tr, y_val = train_test_split(
                X, y, test_size=cfg.validation, stratify=stratify, seed=cfg.seed
            )
        else:
            X_tr, y_tr, X_val, y_val = X, y, X[:0], y[:0]
        if cfg.batch_size > len(X_tr):
            raise ValidationError(
                f"batch_size {cfg.batch_size} is larger than the {len(X_tr)} training samples; "
                f"set the batch size to at most {len(X_tr)}"
            )
        self.cfg = cfg
        self.task = task
        self.loss_name = loss
        self.classes = classes or []
        self.X, self.y = np.asarray(X_tr, dtype=np.float64), np.asarray(y_tr)
        self.X_val, self.y_val = np.asarray(X_val, dtype=np.float64), np.asarray(y_val)
        self.inputs = self.X.shape[1]
        if self.inputs == 1:  # the plot of a curve: x across, y up
            self.extent = views.extent(np.column_stack([X[:, 0], y]))
        else:
            self.extent = views.extent(X)
        outputs = registry.LOSSES[loss].outputs(n_classes)
        cr.manual_seed(cfg.seed)
        self.model = mlp(
            self.inputs, list(cfg.hidden), outputs, activation=cfg.activation, dtype="float64"
        )
        self.loss_fn = registry.make_loss(loss)
        self.kind = self.loss_fn.output  # "scores", "value" or "logit"
        self.optimizer = self._optimizer(cfg)
        self.guard = FiniteGuard(self.model, restore=True)  # a bad step is undone
        self.callbacks.set_context(
            self.model,
            self.optimizer,
            {"batch_size": cfg.batch_size, "samples": len(self.X), "steps": self.steps_per_epoch},
        )
        self.generator = cr.Generator(cfg.seed)
        self.order = np.arange(0)
        self.cursor = 0
        self.step_count = 0
        self.epoch = 0
        self.last_batch = None
        self.last_batch_loss = None
        self.error = None
        self.history = {
            "epoch": [],
            "loss": [],
            "val_loss": [],
            "accuracy": [],
            "val_accuracy": [],
            "r2": [],
            "val_r2": [],
        }
        self.data_version += 1
        self._record()

    def _optimizer(self, cfg: Config):
        entry = registry.OPTIMIZERS[cfg.optimizer]
        options = entry.supported(lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        return registry.make_optimizer(cfg.optimizer, self.model.parameters(), **options)

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
            return float(self.loss_fn(out, Tensor._make(self.targets(y), False)).array)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class indices, or predicted values for a function to fit."""
        raw = views.run(self.model, X)
        if self.task == "regression":
            return raw.reshape(-1)
        probs = views.probabilities(raw, self.kind)
        return probs.argmax(axis=1) if probs.ndim == 2 else (probs > 0.5).astype(np.int64)

    def _accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(X) == y).mean())

    def _r2(self, X: np.ndarray, y: np.ndarray) -> float:
        """The coefficient of determination, 1 − Σ(y − ŷ)² / Σ(y − ȳ)² (scikit-learn's r2_score
        for one output)."""
        residual = float(((y - self.predict(X)) ** 2).sum())
        spread = float(((y - y.mean()) ** 2).sum())
        return 1.0 - residual / spread if spread > 0 else (1.0 if residual == 0 else 0.0)

    def confusion(self) -> dict | None:
        """Counts of (true class, predicted class) on the validation part (the training part
        when nothing is held out); None for a function to fit."""
        if self.task == "regression":
            return None
        split = "val" if len(self.X_val) else "train"
        X, y = (self.X_val, self.y_val) if split == "val" else (self.X, self.y)
        n = len(self.classes)
        matrix = np.zeros((n, n), dtype=np.int64)
        with np.errstate(all="ignore"):
            np.add.at(matrix, (y.astype(np.int64), self.predict(X)), 1)
        return {"split": split, "classes": self.classes, "matrix": matrix.tolist()}

    def scores(self) -> dict:
        with np.errstate(all="ignore"):
            return {k: _finite(v) for k, v in self._scores().items()}

    def _scores(self) -> dict:
        metric = self._r2 if self.task == "regression" else self._accuracy
        name = "r2" if self.task == "regression" else "accuracy"
        out = {
            "loss": self._loss_of(self.X, self.y),
            "val_loss": None,
            "accuracy": None,
            "val_accuracy": None,
            "r2": None,
            "val_r2": None,
        }
        out[name] = metric(self.X, self.y)
        if len(self.X_val):
            out["val_loss"] = self._loss_of(self.X_val, self.y_val)
            out["val_" + name] = metric(self.X_val, self.y_val)
        return out

    def _record(self) -> None:
        s = self.scores()
        h = self.history
        h["epoch"].append(self.epoch)
        for key in ("loss", "val_loss", "accuracy", "val_accuracy", "r2", "val_r2"):
            h[key].append(s[key])
        if len(h["epoch"]) > MAX_HISTORY:  # keep the first point, thin out the rest
            for key in h:
                h[key] = h[key][:1] + h[key][2::2]

    # ---- training ------------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.X) / self.cfg.batch_size)

    def step(self) -> float:
        """One optimizer step on the next batch (:func:`chainrule.train.step.train_step`, the
        step ``cr.fit`` takes); returns the batch loss.

        Raises:
            NonFiniteError: the loss or a gradient is not finite, or the step would make a
                weight infinite (the weights are left as they were before the step).
        """
        if self.cursor >= len(self.order):
            self.order = self.generator.numpy.permutation(len(self.X))
            self.cursor = 0
            self.callbacks.on_epoch_begin(self.epoch)
        batch = self.cursor // self.cfg.batch_size
        idx = self.order[self.cursor : self.cursor + self.cfg.batch_size]
        self.cursor += len(idx)
        self.callbacks.on_batch_begin(batch)
        y = self.targets(self.y[idx])
        try:
            value = train_step(
                self.model, self.loss_fn, self.optimizer, self.X[idx], y, guard=self.guard
            ).loss
        except NonFiniteError as err:
            self._fail(err)
        self.step_count += 1
        self.last_batch = idx
        self.last_batch_loss = value
        self.callbacks.on_batch_end(batch, {"loss": value, "size": len(idx)})
        if self.cursor >= len(self.order):
            self.epoch += 1
            self._record()
            logs = {k: v for k, v in self.scores().items() if v is not None}
            self.callbacks.on_epoch_end(self.epoch - 1, logs)
        return value

    def _fail(self, err: NonFiniteError):
        step = self.step_count + 1
        what = {
            "loss": f"the loss became {err.value} at step {step}",
            "gradient": f"a gradient became NaN or infinite at step {step}",
        }.get(err.stage, f"the update at step {step} made a weight infinite")
        self.error = f"training stopped: {what}; lower the learning rate and press Reset"
        raise NonFiniteError(self.error) from None

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
                    "W": _round(w.array),
                    "b": _round(b.array),
                    "gW": None if w.grad_array is None else _round(w.grad_array, 7),
                    "gb": None if b.grad_array is None else _round(b.grad_array, 7),
                }
            )
        return {"sizes": [self.inputs] + [lay["out"] for lay in layers], "layers": layers}

    def _neuron_grid(self) -> np.ndarray:
        """The points each neuron's small map is drawn from: the plane, or for one input a
        line of x values repeated down the rows (a strip that varies across)."""
        g = views.grid(self.extent, NEURON_SIZE)
        return g[:, :1] if self.inputs == 1 else g

    def surface(self) -> dict:
        """What the model predicts over the input space: class regions and probabilities, the
        fitted surface of a two-input function, or the fitted curve of a one-input one."""
        if self.inputs == 1:
            xs = np.linspace(self.extent[0], self.extent[1], CURVE_POINTS)
            ys = views.run(self.model, xs[:, None]).reshape(-1)
            return {"kind": "curve", "extent": self.extent, "x": _round(xs, 4), "y": _round(ys, 4)}
        if self.task == "regression":
            values = views.run(self.model, views.grid(self.extent, BOUNDARY_SIZE)).reshape(-1)
            low, high = float(self.y.min()), float(self.y.max())
            return {
                "kind": "surface",
                "size": BOUNDARY_SIZE,
                "extent": self.extent,
                "range": [low, high],
                "p": _round(values, 4),
            }
        b = views.boundary(self.model, self.extent, BOUNDARY_SIZE, self.kind)
        boundary = {
            "kind": "classes",
            "size": b["size"],
            "extent": b["extent"],
            "classes": b["classes"],
            "p": _round(b["p"], 3),
        }
        if "label" in b:
            boundary["label"] = b["label"].astype(int).tolist()
        return boundary

    def frame(self, full: bool = False) -> dict:
        """Everything the page draws after a step (``full`` adds the data points)."""
        with np.errstate(all="ignore"):
            boundary = self.surface()
            outs = views.layer_outputs(self.model, self._neuron_grid())
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
            "confusion": self.confusion(),
            "task": self.task,
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
            labels = (
                (lambda y: _round(y, 4))
                if self.task == "regression"
                else (lambda y: y.astype(int).tolist())
            )
            frame["data"] = {
                "train": {"X": _round(self.X, 4), "y": labels(self.y)},
                "val": {"X": _round(self.X_val, 4), "y": labels(self.y_val)},
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
        shape = params[name].array.shape
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
        grad = dict(twin.named_parameters())[name].grad_array
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
            optimizer=self.optimizer,  # the update shown is the session's own optimizer's step
            param=label,
            title=f"{label}, {split} sample {i}, step {self.step_count}",
        )
        chain = report.data["chains"][0]
        layer_of = {}
        for k, (index, _) in enumerate(views.linear_layers(self.model), start=1):
            layer_of[f"{index}.weight"] = layer_of[f"{index}.bias"] = k
        paths = sorted(chain["paths"], key=lambda path: -abs(path["product"]))
        shown = []
        for path in paths[:MAX_PATHS_SHOWN]:
            factors = []
            for f in path["factors"]:
                top, _, bottom = f["symbol"][1:].partition("/∂")
                top, bottom = term(top, layer_of), term(bottom, layer_of)
                factors.append(
                    {
                        "symbol": f["symbol"],
                        "formula": f["formula"],
                        "value": f["value"],
                        "top": top,
                        "bottom": bottom,
                        "target": factor_target(top, bottom),
                    }
                )
            shown.append({"factors": factors, "product": path["product"]})
        return {
            "param": label,
            "name": name,
            "index": list(idx),
            "sample": i,
            "split": split,
            "step": self.step_count,
            "x": _round(x[0], 9),
            "target": np.asarray(t).reshape(-1).tolist(),
            "value": float(param.array[idx]),
            "grad": float(chain["total"]),
            "engine_grad": self.engine_grad(name, idx, x, t),
            "lr": self.cfg.lr,
            "paths": chain.get("path_count", len(chain["paths"])),
            "layer": layer_of[name],
            "rest": {
                "count": chain.get("path_count", len(paths)) - len(shown),
                "total": float(chain["total"]) - sum(p["product"] for p in shown),
            },
            "chain": shown,
            "html": report.html(),
        }

    def probe(self, sample, split: str = "train") -> dict:
        """One sample's forward pass, layer by layer, with every number a neuron's tooltip
        shows: its inputs, weights and bias, the weighted sum z and the activation a."""
        i, x, t = self.sample(sample, split)
        outs, h = [], x
        with no_grad():
            modules = list(self.model)
            z = None
            for k, module in enumerate(modules):
                h = module(Tensor._make(np.asarray(h), False)).array
                if hasattr(module, "in_features"):
                    z = h
                nxt = modules[k + 1] if k + 1 < len(modules) else None
                if nxt is None or hasattr(nxt, "in_features"):
                    outs.append((z[0], h[0]))
        layers, inputs = [], x[0]
        for (_, lin), act, (z, a) in zip(
            views.linear_layers(self.model), views.activation_names(self.model), outs
        ):
            layers.append(
                {
                    "inputs": _round(inputs, 9),
                    "W": _round(lin.weight.array, 9),
                    "b": _round(lin.bias.array, 9),
                    "z": _round(z, 9),
                    "a": _round(a, 9),
                    "activation": act,
                }
            )
            inputs = a
        return {
            "sample": i,
            "split": split,
            "step": self.step_count,
            "x": _round(x[0], 9),
            "target": np.asarray(t).reshape(-1).tolist(),
            "layers": layers,
        }

    def set_parameter(self, name, index, value) -> float:
        """Set one weight or bias by hand; the next frame shows the new boundary and loss.
        Returns the value set.

        Raises:
            ValidationError: an unknown parameter, an index outside it, or a value that is not
                a finite number within ±MAX_WEIGHT.
        """
        param, idx = self.parameter(name, index)
        value = weight_value(value)
        np.asarray(param.array)[idx] = value
        self.error = None
        return value

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
                forward.append({"z": _round(z.array[0], 9), "a": _round(h.array[0], 9)})
        loss = self.loss_fn(h, Tensor._make(t, False))
        loss.backward()
        linears = views.linear_layers(twin)
        acts = views.activation_names(twin)
        for layer, act in zip(forward, acts):
            layer["activation"] = act
        # For one sample the delta of a layer, ∂E/∂z, is exactly its bias gradient.
        backward = [
            {"layer": k + 1, "delta": _round(lin.bias.grad_array, 9)}
            for k, (_, lin) in reversed(list(enumerate(linears)))
        ]
        old = {n: p.array.copy() for n, p in twin.named_parameters()}
        grads = {n: p.grad_array.copy() for n, p in twin.named_parameters()}
        opt.step()
        update = [
            {
                "name": n,
                "old": _round(old[n], 9),
                "grad": _round(grads[n], 9),
                "new": _round(p.array, 9),
            }
            for n, p in twin.named_parameters()
        ]
        return {
            "sample": i,
            "split": split,
            "x": _round(x[0], 9),
            "target": np.asarray(t).reshape(-1).tolist(),
            "forward": forward,
            "output": _round(h.array[0], 9),
            "loss": float(loss.array),
            "loss_name": self.loss_name,
            "backward": backward,
            "update": update,
            "optimizer": self.cfg.optimizer,
            "lr": self.cfg.lr,
        }
