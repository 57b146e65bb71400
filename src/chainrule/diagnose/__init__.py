"""Why isn't it learning? Training diagnoses in plain language, explained with the chain rule.

:class:`Recorder` is a :func:`chainrule.fit` callback that records gradient norms, update sizes
and activation statistics per layer; at the end of training it turns them into
:class:`Finding` objects (``history.findings``), each one sentence with the numbers and a fix,
most severe first. :func:`diagnose` does the same for a record read back from disk.

Example:
    >>> import chainrule as cr  # doctest: +SKIP
    >>> rec = cr.diagnose.Recorder()  # doctest: +SKIP
    >>> history = cr.fit(model, (X, y), loss_fn, opt, epochs=20, callbacks=[rec])  # doctest: +SKIP
    >>> for finding in history.findings:  # doctest: +SKIP
    ...     print(finding)
"""

from chainrule.diagnose.findings import RULES, Finding, diagnose, summary
from chainrule.diagnose.recorder import Recorder, load_record

__all__ = ["RULES", "Finding", "Recorder", "diagnose", "load_record", "summary"]
