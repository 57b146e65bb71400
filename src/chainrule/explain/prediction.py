"""What ``explain`` differentiates when there is no target: the prediction itself. For a
classifier, the score (logit) of the class the model predicts, ``out[0, out.argmax()]``, whose
gradient PyTorch users call a saliency map; for a model with one output, that output."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor


class PredictedScore:
    """``E = o[k]``, the output of the predicted class ``k = argmax(o)`` (one per sample, summed
    over a batch), or ``E = o`` for a model with one output: ``explain(model, x)`` without a
    target explains the gradient of this number, as ``model(x)[0, k].backward()`` would.

    Args:
        class_names: the classes' names, to say which class ``k`` (or a one-logit binary
            model's output) stands for.

    Example:
        >>> import chainrule as cr
        >>> score = PredictedScore()
        >>> float(score(cr.tensor([[0.5, 2.0, -1.0]]), None).item())
        2.0
    """

    def __init__(self, class_names=None):
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.formula, self.derivative = "E = o", "1"  # until a call sees the outputs
        self.predicted: list[int] | None = None

    def __call__(self, out: Tensor, target=None) -> Tensor:
        if out.ndim == 2:
            scores = out
        else:  # (N,): one output per sample; (N, C, ...): flattened per sample
            scores = out.reshape(-1, 1) if out.ndim < 2 else out.reshape(out.shape[0], -1)
        n, width = scores.shape
        if width == 1:  # regression, or a binary classifier's one logit: the output itself
            self.formula, self.derivative = "E = o", "1"
            return scores.sum()
        predicted = self.predicted
        if predicted is None or len(predicted) != n:  # a sample alone: its own argmax
            predicted = np.argmax(scores.array, axis=1).tolist()
        if self.predicted is None:
            # the first run decides k: the run after section 4's step scores the same classes
            self.predicted = predicted
            self.formula = self._predicted_class(n)
            self.derivative = "1 for the predicted class's score, 0 for the other outputs"
        if len(set(predicted)) == 1:  # one class for every sample: its column, o[:, k]
            return scores[:, predicted[0]].sum()
        return scores[np.arange(n), np.asarray(predicted)].sum()

    def _predicted_class(self, n: int) -> str:
        return f"E = o[k], k = {self.predicted[0]}" if n == 1 else "E = Σ_s o[s, k_s]"

    def note(self) -> str:
        """What the report's E is, for its opening: no loss, and what section 4 then shows."""
        names = self.class_names
        if self.predicted is None and names is not None and len(names) == 2:
            what = f"the model's one output o, the logit of class {names[1]!r}"
        elif self.predicted is None:
            what = "the model's output o itself"
        else:
            which = [f"{k} ({names[k]!r})" if self._named(k) else str(k) for k in self.predicted]
            one = len(which) == 1
            what = (
                "o[k], the score (logit, before softmax) of the class k the model predicts, "
                f"k = argmax(o) = {which[0]}"
                if one
                else "the score (logit, before softmax) of each sample's predicted class "
                f"k_s = argmax(o[s]), summed over the samples: k_s = {', '.join(which)}"
            )
        torch = "out.sum().backward()" if self.predicted is None else "out[0, k].backward()"
        return (
            f"No target was given, so E is not a loss but the prediction itself: E = {what}. "
            f"Its gradient ∂E/∂θ says how each parameter moves this number (in PyTorch, "
            f"{torch}, as a saliency map does). Section 4's step goes against that "
            "gradient, lowering E: it shows the arithmetic, not a training step."
        )

    def _named(self, k: int) -> bool:
        return self.class_names is not None and 0 <= k < len(self.class_names)
