"""The mistakes people make calling ``fit`` with Keras's or PyTorch's habits, each named.

``cr.fit(model, X, y, loss_fn, opt)`` (Keras's ``model.fit(X, y)``), a loss or optimizer
class where an instance belongs (``nn.MSELoss`` without its ``()``), Keras's loss names
(``"binary_crossentropy"``) and an optimizer built over another model's parameters used to
end in a tensor printed inside a ``reduction`` error, an ``AttributeError`` about
``param_groups``, ``'str' object is not callable``, or, for the last, a run that trained
nothing at a constant loss and returned as if it had worked.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

__all__ = [
    "batch_size_for",
    "callback_list",
    "check_loss_fn",
    "check_model_loss_optimizer",
    "check_positional",
    "check_run_arguments",
    "check_scheduler",
]

_ARRAY = (np.ndarray, Tensor, list)


def check_loss_fn(loss_fn, owner: str) -> None:
    """Refuse a loss class, a loss name or anything else that is not callable."""
    if isinstance(loss_fn, _ARRAY):  # evaluate(model, X, y): y landed in loss_fn
        raise TypeError(
            f"{owner}: loss_fn is an array: X and y go together as one pair, "
            f"cr.{owner}(model, (X, y), loss_fn)"
        )
    if isinstance(loss_fn, type):
        raise TypeError(
            f"{owner}: loss_fn is the class {loss_fn.__name__}, not a loss; create one with "
            f"{loss_fn.__name__}()"
        )
    if isinstance(loss_fn, str):
        raise TypeError(
            f"{owner}: loss_fn is the string {loss_fn!r}; chainrule takes a loss object or "
            f"function, e.g. nn.BCEWithLogitsLoss() (two classes, one output), "
            f"nn.CrossEntropyLoss() (several classes) or nn.MSELoss() (regression)"
        )
    if not callable(loss_fn):
        raise TypeError(
            f"{owner}: loss_fn must be a loss such as nn.MSELoss() (called as "
            f"loss_fn(output, target)), got {type(loss_fn).__name__}"
        )


_OPTIONS = ("epochs", "batch_size", "validation_data", "validation_split", "metrics")


def check_positional(data, loss_fn, optimizer, misplaced: tuple) -> None:
    """Refuse arguments past the optimizer given by position: ``fit(model, X, y, loss_fn, opt,
    epochs=10)`` (Keras's ``fit(X, y)``) used to end in Python's "got multiple values for
    argument 'epochs'", and ``fit(model, data, loss_fn, opt, 32, 10)`` would read Keras's
    ``batch_size, epochs`` order as ``epochs=32, batch_size=10``."""
    if not misplaced:
        return
    if isinstance(data, _ARRAY) and isinstance(loss_fn, _ARRAY):
        loss = type(optimizer).__name__
        opt = type(misplaced[0]).__name__
        raise TypeError(
            f"fit: X and y were given as two arguments (then {loss} and {opt}): X and y go "
            f"together as one pair, cr.fit(model, (X, y), loss_fn, optimizer, epochs=...)"
        )
    named = ", ".join(f"{name}={value!r:.40}" for name, value in zip(_OPTIONS, misplaced))
    raise TypeError(
        f"fit takes model, data, loss_fn and optimizer by position and the rest by name: got "
        f"{len(misplaced)} more positional argument(s); write them by name, e.g. {named}"
    )


def check_run_arguments(epochs, initial_epoch, validation_split, validation_data) -> None:
    """Refuse epoch counts and validation settings that cannot describe a run."""
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be an integer >= 0, got {epochs!r}")
    if not isinstance(initial_epoch, (int, np.integer)) or not 0 <= initial_epoch <= epochs:
        raise ValueError(
            f"fit: initial_epoch must lie in [0, epochs={epochs}], got {initial_epoch!r}"
        )
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit: validation_split must lie in [0, 1), got {validation_split!r}")
    if validation_split and validation_data is not None:
        raise ValueError("fit: give validation_data or validation_split, not both")


def check_model_loss_optimizer(model, data, loss_fn, optimizer) -> None:
    """Name ``fit``'s argument mistakes before any work (see the module's docstring)."""
    if isinstance(data, _ARRAY) and isinstance(loss_fn, _ARRAY):
        raise TypeError(
            "fit: data is one array and loss_fn another: X and y go together as one pair, "
            "cr.fit(model, (X, y), loss_fn, optimizer, epochs=...)"
        )
    check_loss_fn(loss_fn, "fit")
    _check_flat_features(model, data)
    if isinstance(optimizer, type):
        raise TypeError(
            f"fit: optimizer is the class {optimizer.__name__}, not an optimizer; create one "
            f"over the model's parameters: {optimizer.__name__}(model.parameters(), lr=...)"
        )
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(
            f"fit: optimizer must have step() and zero_grad(), e.g. "
            f"optim.Adam(model.parameters(), lr=0.01); got {type(optimizer).__name__}"
        )
    if type(optimizer).__name__ == "LBFGS":  # its step(closure) re-evaluates the loss itself
        raise TypeError(
            "fit: LBFGS needs step(closure) over the full batch, which fit's per-batch step "
            "does not give; write the loop: def closure(): opt.zero_grad(); loss = "
            "loss_fn(model(X), y); loss.backward(); return loss, then opt.step(closure)"
        )
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not hasattr(model, "parameters"):
        return
    trained = {id(p) for group in groups for p in group.get("params", ())}
    own = [p for p in model.parameters() if getattr(p, "requires_grad", False)]
    if own and not any(id(p) in trained for p in own):
        raise ValueError(
            "fit: the optimizer updates none of the model's parameters (was it built over "
            "another model, or over a model since replaced?), so training would change "
            f"nothing; build it over this one: {type(optimizer).__name__}(model.parameters(), "
            "lr=...)"
        )


def _check_flat_features(model, data) -> None:
    """Refuse ``X`` of shape ``(N,)`` for a model that starts with ``Linear``: each batch of
    it was one sample to the layer (a ShapeError about ``(32,)``, or, where ``in_features``
    equals the batch size, a batch read as one sample of many features)."""
    from chainrule.nn.linear import Linear
    from chainrule.train.batches import _first_module

    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        return
    X = data[0]
    _check_one_input(X, data[1])
    try:
        ndim = X.ndim if hasattr(X, "ndim") else np.ndim(X)
    except ValueError:  # ragged rows: said clearly where the data is converted
        return
    first = _first_module(model)
    if ndim == 1 and isinstance(first, Linear):
        raise ShapeError(
            f"fit: X has shape ({len(X)},), one number per sample, but the model starts with "
            f"Linear(in_features={first.in_features}), which takes rows of features: for one "
            f"feature, pass X.reshape(-1, 1)"
        )


def _check_one_input(X, y) -> None:
    """Refuse ``((X1, X2), y)``, the inputs of a model with several (``forward(x, lengths)``):
    fit calls ``model(x)`` with one batch, and numpy's error on the ragged pair names nothing."""
    if not isinstance(X, (tuple, list)) or len(X) < 2 or not hasattr(y, "__len__"):
        return
    parts = [a for a in X if hasattr(a, "shape") and len(a.shape) >= 1]
    if len(parts) == len(X) != len(y) and all(len(a) == len(y) for a in parts):
        raise TypeError(
            f"fit: X is {len(X)} arrays of {len(y)} rows each, the inputs of a model with "
            f"several (forward(x, lengths)); fit calls model(x) with one input. Compute the "
            f"rest inside forward (a padded batch's lengths: (x != 0).sum(1)), stack the inputs "
            f"into one array, or write the training loop yourself (docs/training.md)"
        )


def callback_list(callbacks) -> list:
    """``callbacks`` as a list: one callback given alone is taken as ``[callback]`` (as one
    metric name is); it was a bare "object is not iterable"."""
    from chainrule.train.callback import Callback

    return [callbacks] if isinstance(callbacks, Callback) else list(callbacks or ())


def check_scheduler(scheduler, optimizer, seed=None, generator=None) -> None:
    """Refuse a scheduler that would change nothing or the wrong way, silently: one built over
    another optimizer (the run's rate never moves), and a ``ReduceLROnPlateau(mode="max")``,
    which ``fit`` steps with ``val_loss`` (or ``loss``): it cut the rate while the loss fell.
    Also ``seed=`` beside ``generator=``: the seed was ignored."""
    if seed is not None and generator is not None:
        raise ValueError(
            "fit: give seed= (a private generator seeded with it) or generator=, not both; "
            "the seed would be ignored"
        )
    if scheduler is None:
        return
    own = getattr(scheduler, "optimizer", optimizer)
    if own is not optimizer:
        raise ValueError(
            f"fit: the scheduler {type(scheduler).__name__} was built over another optimizer "
            "than the one fit trains with, so the learning rate would never change; build it "
            "over this one: scheduler = StepLR(optimizer, ...)"
        )
    if getattr(scheduler, "needs_metric", False) and getattr(scheduler, "mode", "min") != "min":
        raise ValueError(
            f"fit: {type(scheduler).__name__}(mode={scheduler.mode!r}) is stepped with val_loss "
            "(loss without validation data), which falls as training improves: mode='max' "
            "would cut the learning rate at every plateau of a falling loss; use mode='min', "
            "or to follow a metric such as val_accuracy, leave scheduler= out and step it from "
            "a callback: LambdaCallback(on_epoch_end=lambda epoch, logs: "
            "sched.step(logs['val_accuracy']))"
        )


def batch_size_for(data, batch_size, seed, generator) -> int:
    """The batch size of the run (32 unless given). A ``DataLoader`` brings its own batch
    size and shuffling generator: a different ``batch_size=``, or a ``seed=``/``generator=``,
    beside one was ignored without a word, and is refused."""
    from chainrule.data.loader import DataLoader

    if not isinstance(data, DataLoader):
        return 32 if batch_size is None else batch_size
    if batch_size is not None and batch_size != data.batch_size:
        raise ValueError(
            f"fit: batch_size={batch_size!r} is ignored for a DataLoader, which makes batches "
            f"of {data.batch_size}; set the batch size on the DataLoader, or pass the (X, y) "
            f"arrays"
        )
    if seed is not None or generator is not None:
        raise ValueError(
            "fit: seed= and generator= are ignored for a DataLoader, which shuffles with its own "
            "generator; pass DataLoader(..., shuffle=True, generator=cr.Generator(seed))"
        )
    return data.batch_size
