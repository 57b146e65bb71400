"""The Python examples of docs/onnx.md and docs/sklearn.md run as written."""

import re
from pathlib import Path

import pytest

try:
    # joblib (GridSearchCV n_jobs=2 in docs/sklearn.md) imported at collection time, before
    # the suite's pickle guard wraps pickle.loads: multiprocessing keeps the loads it finds
    # at import and hands it to the worker processes, which must get the real one
    import sklearn.model_selection  # noqa: F401
except ImportError:
    pass

DOCS = Path(__file__).resolve().parents[2] / "docs"


def python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def run_page(page: str, tmp_path, monkeypatch) -> None:
    blocks = python_blocks(page)
    assert blocks, f"docs/{page} has no Python examples"
    monkeypatch.chdir(tmp_path)  # the examples write their files into the working directory
    for i, code in enumerate(blocks):
        namespace = {"__name__": f"docs_{page}_{i}"}
        exec(compile(code, f"docs/{page} block {i + 1}", "exec"), namespace)


def test_onnx_page(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    run_page("onnx.md", tmp_path, monkeypatch)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_page(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    pytest.importorskip("onnxruntime")
    run_page("sklearn.md", tmp_path, monkeypatch)
