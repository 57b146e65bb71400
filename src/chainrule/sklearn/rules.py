"""scikit-learn's per-epoch bookkeeping and stopping rules, as a ``cr.fit`` callback."""

from __future__ import annotations

from chainrule.train.callbacks import Callback

__all__ = ["SklearnRules"]


class SklearnRules(Callback):
    """A ``cr.fit`` callback with scikit-learn's per-epoch bookkeeping and stopping rules."""

    def __init__(
        self, est, n_samples: int, batch_size: int, validation, incremental: bool, weighted=False
    ):
        super().__init__()
        self.est = est
        self.n_samples = n_samples
        self.batch_size = batch_size
        self.validation = validation
        self.incremental = incremental
        self.weighted = weighted  # then the penalty is in the loss cr.fit logs (Σw per batch)
        self.epochs = 0  # run by this call

    def on_epoch_begin(self, epoch, logs=None):
        # scikit-learn adds the L2 penalty of the weights the epoch starts from (exactly so
        # for one batch per epoch; with several it averages each batch's)
        self.penalty = 0.0 if self.weighted else self.est._penalty(self.batch_size)
        self.loss_sum, self.rows = 0.0, 0

    def on_batch_end(self, batch, logs=None):
        # scikit-learn's epoch loss is each batch's (weighted) loss times its row count, over
        # the rows: weighted by batch size, not by Σw as cr.fit's weighted epoch loss
        self.loss_sum += float(logs["loss"]) * logs["size"]
        self.rows += logs["size"]

    def on_batch_begin(self, batch, logs=None):
        size = min(self.batch_size, self.n_samples - batch * self.batch_size)
        self.est._batch_begins(size, self.weighted)

    def on_epoch_end(self, epoch, logs=None):
        est = self.est
        loss = (self.loss_sum / self.rows if self.rows else float(logs["loss"])) + self.penalty
        est.loss_ = loss
        est.loss_curve_.append(loss)
        est.n_iter_ += 1
        est.t_ += self.n_samples
        self.epochs += 1
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")  # scikit-learn's progress line
        if self.incremental:
            return
        est._update_no_improvement(self.validation)
        est._iteration_ends()
        if est._no_improvement_count > est.n_iter_no_change:
            if est._reduce_learning_rate():
                est._no_improvement_count = 0
            else:
                est._stopped = True
                self.stop_training = True
