"""Every public PyTorch name chainrule lacks raises NotSupportedError naming the nearest
chainrule spelling (torch, torch.nn, torch.nn.functional, torch.Tensor); other missing names
stay plain AttributeErrors, and private names never raise NotSupportedError."""

import copy
import importlib.util
import pickle

import pytest

import chainrule as cr
from chainrule import _torch_names

NAMESPACES = [
    ("torch", lambda: cr, _torch_names.TORCH),
    ("torch.nn", lambda: cr.nn, _torch_names.NN),
    ("torch.nn.functional", lambda: cr.nn.functional, _torch_names.NN_FUNCTIONAL),
    ("torch.Tensor", lambda: cr.ones(2, 2), _torch_names.TENSOR),
]


@pytest.mark.parametrize("prefix, owner, names", NAMESPACES, ids=[n[0] for n in NAMESPACES])
def test_every_missing_pytorch_name_raises_not_supported(prefix, owner, names):
    obj, missing = owner(), 0
    for name in names:
        if name.startswith("_"):
            continue
        try:
            getattr(obj, name)
        except cr.NotSupportedError as err:
            missing += 1
            assert f"{prefix}.{name} is not supported by chainrule; nearest: " in str(err)
            assert not hasattr(obj, name)
            assert getattr(obj, name, "default") == "default"
        except AttributeError as err:  # only for a chainrule subpackage not imported yet
            if importlib.util.find_spec(f"chainrule.{name}") is None or prefix != "torch":
                pytest.fail(f"{prefix}.{name}: plain AttributeError {err}")
        except Exception:  # noqa: BLE001 - a property chainrule has, refusing this tensor
            pass
    assert missing >= 5  # the check ran on real names (fewer each time chainrule gains some)


def test_the_hint_is_the_handwritten_one_else_the_closest_names():
    with pytest.raises(cr.NotSupportedError, match=r"computes on the CPU only"):
        cr.tensor([[1.0]]).cuda  # noqa: B018 - the hand-written hint wins
    with pytest.raises(cr.NotSupportedError, match="DistributedDataParallel under mpiexec"):
        cr.nn.DataParallel  # noqa: B018
    with pytest.raises(cr.NotSupportedError, match=r"nearest: chainrule.index_copy"):
        cr.slice_copy  # noqa: B018 - (index_put, the example before, came)
    with pytest.raises(cr.NotSupportedError, match=r"chainrule.Tensor.index_put"):
        cr.tensor([1.0]).index  # noqa: B018
    with pytest.raises(cr.NotSupportedError, match=r"chainrule.nn.functional.group_norm"):
        cr.nn.functional.grouped_mm  # noqa: B018 - (fractional_max_pool3d, the example before, came)
    with pytest.raises(cr.NotSupportedError, match=r"chainrule.nn.functional.embedding_bag"):
        cr.embedding_bag  # noqa: B018 - ATen's four outputs; F's has the bags
    with pytest.raises(cr.NotSupportedError, match="no close equivalent in chainrule"):
        cr.nn.CrossMapLRN2d  # noqa: B018 - (nn.AdaptiveLogSoftmaxWithLoss, the example before, came)
    assert issubclass(cr.NotSupportedError, NotImplementedError)


@pytest.mark.parametrize("namespace", ["torch.nn", "torch.nn.functional"])
def test_no_unsupported_entry_names_something_chainrule_has(namespace):
    """A name chainrule gained must leave UNSUPPORTED (F.embedding stayed listed after it came,
    and docs/pytorch.md called it missing)."""
    from chainrule.torch_compat import _HOMES, UNSUPPORTED

    home = importlib.import_module(_HOMES[namespace][0])
    present = [name for name in UNSUPPORTED.get(namespace, {}) if hasattr(home, name)]
    assert not present, f"{namespace}: remove {present} from torch_compat.UNSUPPORTED"


def test_names_pytorch_does_not_have_stay_plain_attribute_errors():
    t = cr.tensor([1.0])
    for obj, text in (
        (cr, "module 'chainrule' has no attribute 'no_such_thing'"),
        (cr.nn, "module 'chainrule.nn' has no attribute 'no_such_thing'"),
        (cr.nn.functional, "no attribute 'no_such_thing'"),
        (t, "'Tensor' object has no attribute 'no_such_thing'"),
    ):
        with pytest.raises(AttributeError, match=text) as info:
            obj.no_such_thing  # noqa: B018
        assert type(info.value) is AttributeError
    for name in ("__getstate_manual__", "__array_interface__", "_private", "__torch_function__"):
        for obj in (cr, cr.nn, cr.nn.functional, t):
            try:
                getattr(obj, name)
            except AttributeError as err:
                assert type(err) is AttributeError, (obj, name)


def test_placeholders_cost_nothing_visible_dir_copy_and_pickle_still_work():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    assert "addbmm" not in dir(t) and "sum" in dir(t) and "grad" in dir(t)
    assert "__getattr__" not in vars(cr.Tensor)  # normal look-ups stay CPython's fast path
    assert copy.deepcopy(t).tolist() == [1.0, 2.0]
    assert pickle.loads(pickle.dumps(cr.tensor([3.0]))).tolist() == [3.0]
    assert not hasattr(cr.Tensor, "addbmm")  # on the class too


def test_name_lists_are_current():
    torch = pytest.importorskip("torch")
    if not torch.__version__.startswith("2.13"):
        pytest.skip("the lists are PyTorch 2.13's")

    public = {n for n in dir(torch.Tensor) if not n.startswith("_")}
    assert public == set(_torch_names.TENSOR), "run tests/torchcompat/gen_torch_names.py"
    assert {"Conv3d", "LSTM"} <= set(_torch_names.NN)
    assert {"hardswish", "conv3d"} <= set(_torch_names.NN_FUNCTIONAL)
    assert {"logcumsumexp", "addbmm", "complex64"} <= set(_torch_names.TORCH)
