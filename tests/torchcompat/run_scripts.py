"""Run tutorial scripts under one backend and print each one's ``final_loss`` as JSON.

Usage: ``python run_scripts.py chainrule|torch SCRIPT...``. With ``chainrule``,
``chainrule.install_as_torch()`` runs first, so the scripts' ``import torch`` finds chainrule.
Each script runs in fresh globals after seeding Python's, NumPy's and the backend's RNGs;
an exception is reported as that script's error, and the others still run.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import runpy
import sys
import time
import traceback
from pathlib import Path

import numpy as np

SCRIPTS = Path(__file__).parent / "scripts"


def main(argv: list[str]) -> int:
    backend, names = argv[0], argv[1:]
    if backend == "chainrule":
        import chainrule

        chainrule.install_as_torch()
    import torch

    if backend == "torch":
        torch.set_num_threads(1)  # tiny tensors: threads only add contention on a shared machine
    sys.path.insert(0, str(SCRIPTS))
    results = {}
    for name in names:
        random.seed(0)
        np.random.seed(0)
        torch.manual_seed(0)
        start = time.perf_counter()
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                scope = runpy.run_path(str(SCRIPTS / f"{name}.py"), run_name="__main__")
            results[name] = {"final_loss": float(scope["final_loss"])}
        except BaseException as err:  # noqa: BLE001 - reported to the test, which fails
            lines = traceback.format_exception(type(err), err, err.__traceback__)
            results[name] = {"error": f"{type(err).__name__}: {err}", "trace": "".join(lines)}
        results[name]["seconds"] = round(time.perf_counter() - start, 3)
        results[name]["stdout_tail"] = out.getvalue()[-400:]
    print("RESULTS " + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
