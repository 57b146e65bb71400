"""Training: the fit loop, metrics, callbacks, progress display, history and plots.

Public names are reached from the top level: ``cr.fit``, ``cr.evaluate``, ``cr.predict``,
``cr.History``, ``cr.metrics``, ``cr.callbacks`` and ``cr.plot``.
"""
