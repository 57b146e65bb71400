"""A PyTorch script that imports torch.optim.swa_utils runs under install_as_torch()."""

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import chainrule
chainrule.install_as_torch()
import torch
from torch.optim.swa_utils import AveragedModel, SWALR, get_ema_multi_avg_fn
import torch.optim.swa_utils as su
model = torch.nn.Linear(2, 1)
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
sched = SWALR(opt, swa_lr=0.05)
ema.update_parameters(model)
print(type(ema).__module__, su.SWALR is SWALR, int(ema.n_averaged))
"""


def test_swa_utils_imports_through_install_as_torch():
    src = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env={"PYTHONPATH": src, "PATH": ""}, check=True)  # fmt: skip
    assert out.stdout.split() == ["chainrule.optim.swa_utils", "True", "1"]
