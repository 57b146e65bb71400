"""The Python examples of README.md and of the docs pages that tests/test_docs_pages.py and
tests/onnx/test_docs_examples.py do not run, run as written, each page in a fresh process (two
of them call ``install_as_torch``, which must not meet the real PyTorch of the test process).

Where a page's example is a sketch that uses names it does not define (``batches``,
``model_loss(...)``), ``PRELUDE`` defines them, and ``CHECKS`` asserts what the page's comments
promise. A page with Python examples that no test runs fails ``test_every_page_is_run``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# run in process by other tests: tests/test_docs_pages.py and tests/onnx/test_docs_examples.py
RUN_ELSEWHERE = {"cnn.md", "diagnose.md", "explain.md", "onnx.md", "sklearn.md"}

SMALL_MLP = """
import numpy as np
import chainrule as cr
from chainrule import nn, optim
cr.manual_seed(0)
rng = np.random.default_rng(0)
"""

PRELUDE = {
    "benchmarks.md": SMALL_MLP
    + """
model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
loss_fn = nn.MSELoss()
opt = optim.SGD(model.parameters(), lr=0.1)
batches = [(rng.normal(size=(4, 2)).astype("float32"), rng.normal(size=(4, 1)).astype("float32"))
           for _ in range(3)]
""",
    "compile.md": SMALL_MLP
    + """
X = rng.normal(size=(64, 784)).astype("float32")
y = rng.integers(0, 10, 64)
batches = [(X[:32], y[:32]), (X[32:], y[32:])]
n_steps = 4
""",
    "data.md": """
import numpy as np
rng = np.random.default_rng(0)
with open("patients.csv", "w") as f:
    f.write("patient_id,age,smoker,bmi,outcome\\n")
    for i in range(60):
        age, smoker, outcome = int(rng.integers(20, 80)), "yes no".split()[i % 2], i % 3 == 0
        bmi = rng.normal(27, 4)
        f.write(f"P{i:04d},{age},{smoker},{bmi:.1f},{'well sick'.split()[outcome]}\\n")
import subprocess, sys
subprocess.run([sys.executable, "-m", "chainrule", "train", "patients.csv", "--target", "outcome",
                "--epochs", "2", "--no-plots", "--out", "model.safetensors"], check=True,
               capture_output=True)
with open("houses.csv", "w") as f:
    f.write("area,rooms,region,price\\n")
    for i in range(300):
        area, rooms, north = rng.uniform(50, 200), int(rng.integers(1, 6)), i % 2
        price = round(area * 2000 + rooms * 10000 + north * 20000 + rng.normal(0, 5000))
        f.write(f"{area:.1f},{rooms},{'south north'.split()[north]},{price}\\n")
""",
    # the module file its example imports (the page shows it as a block of its own)
    "file-format.md": '''
import sys
with open("mymodels.py", "w") as f:
    f.write("""
from chainrule import nn

@nn.register
class TwoTower(nn.Module):
    def __init__(self, n_in, hidden=8):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh())
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.head(self.body(x))
""")
sys.path.insert(0, ".")
''',
    "ops.md": """
import chainrule as cr
def model_loss(*args):
    w = cr.tensor([0.5, 2.0], requires_grad=True)
    return (w * w).sum()
""",
    "pytorch.md": SMALL_MLP
    + """
model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
loss_fn = nn.MSELoss()
x, y = cr.tensor(rng.normal(size=(4, 2))), cr.tensor(rng.normal(size=(4, 1)))
""",
    "training.md": SMALL_MLP
    + """
model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
loss_fn = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)
batches = [(cr.tensor(rng.normal(size=(4, 2))), cr.tensor(rng.normal(size=(4, 1))))]
epochs = 2
""",
}

CHECKS = {
    "README.md": """
chain = report.data["chains"][0]
assert chain["param"] == "0.weight[1, 0]" and abs(chain["total"] - chain["engine_grad"]) < 1e-12
assert w.grad.tolist() == [0.0, 0.0]
assert history.history["val_accuracy"][-1] > 0.9
""",
    "benchmarks.md": "assert all(p.grad is not None for p in model.parameters())",
    "compile.md": "assert step is not None, try_compile_step.reason",
    "data.md": "assert data.schema.target.name == 'price' and len(X_train) == 240\n"
    "assert cr.metrics.r2(y_test, price.ravel()) > 0.95  # in the target's own units\n"
    "assert len(labels) == 60 and set(labels) <= {'well', 'sick'}",
    "file-format.md": "assert cr.load('model.safetensors').metadata == {'classes': ['cat', 'dog']}"
    "\nassert type(opt).__name__ == 'Adam' and opt.param_groups[0]['lr'] == 0.01"
    "\nassert type(towers[0]) is mymodels.TwoTower and towers[0].head.in_features == 16",
    # the safe pattern: the masked position's gradient is 0, not NaN
    "ops.md": "assert x.grad.tolist() == [0.0, 0.25]",
    "optim.md": "assert first + rest == uninterrupted and len(rest) == 8",
    "training.md": "assert {'loss', 'accuracy'} <= set(cr.evaluate(model, (X, y), "
    "nn.BCEWithLogitsLoss()))",
}

# pages whose examples need an optional package
NEEDS = {"file-format.md": "torch", "nn.md": "torch", "README.md": "onnx"}

RUNNER = """
import json, re, sys, textwrap
path, name, prelude, checks = json.loads(sys.argv[1])
text = open(path, encoding="utf-8").read()
namespace = {"__name__": "docs"}
exec(compile(prelude, name + " (prelude)", "exec"), namespace)
blocks = re.findall(r"^( *)```python\\n(.*?)^\\1```", text, flags=re.S | re.M)
assert blocks, name + " has no Python examples"
for i, (_, code) in enumerate(blocks):
    exec(compile(textwrap.dedent(code), f"{name} block {i + 1}", "exec"), namespace)
exec(compile(checks, name + " (checks)", "exec"), namespace)
"""


def page_path(page: str) -> Path:
    return ROOT / page if page == "README.md" else ROOT / "docs" / page


def pages_with_python() -> list[str]:
    pages = ["README.md"] + sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    return [p for p in pages if "```python" in page_path(p).read_text(encoding="utf-8")]


PAGES = [p for p in pages_with_python() if p not in RUN_ELSEWHERE]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page, tmp_path):
    if page in NEEDS:
        pytest.importorskip(NEEDS[page])
    args = [str(page_path(page)), page, PRELUDE.get(page, ""), CHECKS.get(page, "")]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLBACKEND="Agg")
    env.pop("OMPI_COMM_WORLD_SIZE", None)  # one process: distributed.md runs at world size 1
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(args)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]


def test_every_page_is_run():
    # a new page with Python examples must be run by one of the docs tests
    assert set(pages_with_python()) <= set(PAGES) | RUN_ELSEWHERE
    assert RUN_ELSEWHERE <= set(pages_with_python())
    assert set(PRELUDE) | set(CHECKS) <= set(PAGES)


def test_runner_finds_indented_blocks():
    # docs/pytorch.md has an example inside a list item, fenced with indented backticks
    text = page_path("pytorch.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", text, flags=re.S | re.M)
    assert any(indent and "register_post_accumulate_grad_hook" in code for indent, code in blocks)
    code = next(c for i, c in blocks if i)
    compile(textwrap.dedent(code), "pytorch.md", "exec")


def test_readme_demo_transcript_is_what_demo_prints(tmp_path, capsys):
    # every number of README's "What `chainrule demo` prints" comes out of `chainrule demo`
    from chainrule.cli.main import main

    text = page_path("README.md").read_text(encoding="utf-8")
    block = text.split("## What `chainrule demo` prints", 1)[1].split("```text\n", 1)[1]
    block = block.split("```", 1)[0]
    numbers = set(re.findall(r"-?\d+\.\d{4,}", block))
    assert len(numbers) > 20
    assert main(["demo", "--no-plots", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert sorted(n for n in numbers if n not in printed) == []
