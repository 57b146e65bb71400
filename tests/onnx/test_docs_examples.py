"""The Python examples of docs/onnx.md and docs/sklearn.md run as written."""

import pytest

try:
    # joblib (GridSearchCV n_jobs=2 in docs/sklearn.md) imported at collection time, before
    # the suite's pickle guard wraps pickle.loads: multiprocessing keeps the loads it finds
    # at import and hands it to the worker processes, which must get the real one
    import sklearn.model_selection  # noqa: F401
except ImportError:
    pass


def test_onnx_page(run_doc_page):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    run_doc_page("onnx.md", shared=False)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_page(run_doc_page):
    pytest.importorskip("sklearn")
    pytest.importorskip("onnxruntime")
    run_doc_page("sklearn.md", shared=False)
