"""chainrule's benchmark suite: chainrule against PyTorch (CPU) and hand-written NumPy.

Run it with ``python -m benchmarks`` (``--quick`` for a 30-second smoke run, ``--help`` for the
options) or call :func:`benchmarks.runner.main`. Every measurement runs in its own subprocess;
the implementations take turns round by round so that a change in machine load hits all of
them alike. ``docs/benchmarks.md`` explains the cases and records the latest results.
"""
