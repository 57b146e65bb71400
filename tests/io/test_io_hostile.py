"""Hostile model files: loading never runs their code and always raises ModelFormatError."""

import json
import pickle

import pytest
from hostile_corpus import build_corpus, load_in_subprocess, sentinels

from chainrule.io import format as fmt
from chainrule.io import model as model_io


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    files = build_corpus(root / "files", root / "sentinels")
    return root, files


def test_corpus_is_large_and_really_hostile(corpus, tmp_path):
    root, files = corpus
    assert len(files) >= 200
    assert len({f.name for f in files}) == len(files)
    # The payloads are live: an unsafe loader (plain pickle) does create the sentinels.
    live = [f for f in files if f.name.startswith(("pickle_p2_", "pickle_p5_", "handmade_"))]
    assert len(live) == 15
    for path in live:
        target = root / "sentinels" / path.name
        result = pickle.loads(path.read_bytes())  # in the test process, never in chainrule
        if hasattr(result, "wait"):
            result.wait()  # subprocess.Popen
        if hasattr(result, "close"):
            result.close()  # open()
        assert target.exists(), path.name
        target.unlink()


def test_chainrule_format_files_are_well_formed_so_the_allow_list_is_what_rejects_them(corpus):
    _, files = corpus
    ours = [f for f in files if f.name.startswith("ours_") and "trailing" not in f.name]
    assert len(ours) >= 80
    for path in ours:
        tf = fmt.read(path, require_checksum=True)  # structure and checksum are valid
        assert model_io.check_header(tf.metadata, str(path)) == "model"


def test_cr_load_rejects_every_hostile_file_and_runs_nothing(corpus):
    root, files = corpus
    out = load_in_subprocess(files, cwd=root)
    assert sentinels(root / "sentinels") == []
    assert out["violations"] == []
    outcomes = out["results"]
    assert len(outcomes) == len(files)
    wrong = {path: outcome for path, outcome in outcomes.items() if outcome != "ModelFormatError"}
    assert wrong == {}, json.dumps(wrong, indent=1)[:3000]
