"""A run report: one self-contained HTML file with the configuration, curves, decision-boundary
snapshots, the network with its final weights, gradient norms and one chain-rule explanation.

Example:
    >>> from chainrule.report import ReportRecorder, write_report  # doctest: +SKIP
    >>> rec = ReportRecorder(X, y, loss="bce")  # doctest: +SKIP
    >>> history = cr.fit(model, (X, y), loss_fn, opt, epochs=20, callbacks=[rec])  # doctest: +SKIP
    >>> write_report("run.html", model=model, history=history, config={"lr": 0.1}, X=X, y=y,
    ...              snapshots=rec.snapshots, grad_norms=rec.grad_norms,
    ...              explain_sample=(X[:1], y[:1], loss_fn))  # doctest: +SKIP
"""

from chainrule.report.builder import report_from_checkpoint_dir, write_report
from chainrule.report.recorder import ReportRecorder

__all__ = ["ReportRecorder", "report_from_checkpoint_dir", "write_report"]
