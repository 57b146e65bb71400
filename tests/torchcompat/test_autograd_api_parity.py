"""``autograd.grad`` and ``autograd.backward`` in their less common calls, against PyTorch:
several tensors at once, seeds, retain_graph, materialized gradients, the inputs' forms."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_LIBS = {"torch": torch, "chainrule": cr}


def _leaf(lib, values):
    return lib.tensor(values, dtype=lib.float64, requires_grad=True)


def _const(lib, values):
    return lib.tensor(values, dtype=lib.float64)


def _array(t):
    return None if t is None else np.asarray(t.detach().numpy())


def _both(program):
    """``program(lib)`` run on each library: its result, or the type of error it raised."""
    results = {}
    for name, lib in _LIBS.items():
        try:
            results[name] = program(lib)
        except Exception as error:  # noqa: BLE001 - the error's kind is the result compared
            results[name] = ("raised", type(error).__mro__)
    return results["chainrule"], results["torch"]


def _assert_same_grads(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert (g is None) == (w is None)
        if w is not None:
            np.testing.assert_allclose(g, w)


# ---- autograd.backward(tensors, grad_tensors, retain_graph, ..., inputs) ---------------------
def _two_roots_sharing_a_graph(lib, **kwargs):
    x, w = _leaf(lib, [1.0, 2.0]), _leaf(lib, [0.5, 3.0])
    h = (x * w).exp()
    h.retain_grad()
    seen = []
    x.register_hook(lambda g: seen.append(_array(g)))
    lib.autograd.backward([(h * h).sum(), h * x], [None, _const(lib, [1.0, -1.0])], **kwargs)
    return [x.grad, w.grad, h.grad], seen


@pytest.mark.parametrize("kwargs", [{}, {"retain_graph": True}])
def test_backward_of_several_tensors_is_one_pass_as_in_torch(kwargs):
    results = _both(lambda lib: _two_roots_sharing_a_graph(lib, **kwargs))
    (got, got_seen), (want, want_seen) = results
    _assert_same_grads([_array(t) for t in got], [_array(t) for t in want])
    _assert_same_grads(got_seen, want_seen)  # the leaf's hook saw the total, once


@pytest.mark.filterwarnings("ignore:`grad_variables` is deprecated")
def test_backward_of_several_tensors_with_inputs_and_old_names_matches_torch():
    def program(lib):
        x, y = _leaf(lib, [1.0, 2.0]), _leaf(lib, [3.0, -1.0])
        lib.autograd.backward([(x * y).sum(), (x * x).sum()], inputs=[y])
        lib.autograd.backward((y * y).sum(), grad_variables=_const(lib, 3.0), inputs=y)
        return [x.grad, y.grad]

    got, want = _both(program)
    _assert_same_grads([_array(t) for t in got], [_array(t) for t in want])


def test_backward_of_several_tensors_twice_without_retain_graph_raises_as_in_torch():
    def program(lib):
        x = _leaf(lib, [1.0, 2.0])
        roots = [(x * x.exp()).sum(), (x * 3).sum()]
        lib.autograd.backward(roots)
        lib.autograd.backward(roots)

    got, want = _both(program)
    assert want[0] == got[0] == "raised" and RuntimeError in got[1]


def test_backward_of_a_tensor_without_grad_among_several_raises_as_in_torch():
    def program(lib):
        x = _leaf(lib, [1.0, 2.0])
        lib.autograd.backward([(x * x).sum(), _const(lib, 1.0)])

    got, want = _both(program)
    assert want[0] == got[0] == "raised" and RuntimeError in got[1]


# ---- autograd.grad ----------------------------------------------------------------------------
def _cube_then_second_pass(lib, second):
    x = _leaf(lib, [1.0, 2.0])
    h = x.exp()
    y = (h * h * x).sum()
    (g,) = lib.autograd.grad(y, x, create_graph=True, retain_graph=False)
    if second == "grad of the gradient":
        return lib.autograd.grad(g.sum(), x)
    if second == "the same grad again":
        return lib.autograd.grad(y, x)
    y.backward()


@pytest.mark.parametrize("second", ["grad of the gradient", "the same grad again", "backward"])
def test_create_graph_with_retain_graph_false_frees_the_graph_as_in_torch(second):
    got, want = _both(lambda lib: _cube_then_second_pass(lib, second))
    assert want[0] == got[0] == "raised" and RuntimeError in got[1]


def test_create_graph_keeps_the_graph_by_default_as_in_torch():
    def program(lib):
        x = _leaf(lib, [1.0, 2.0])
        y = (x.exp() * x).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        again = lib.autograd.grad(y, x, retain_graph=True)
        return [_array(t) for t in again + lib.autograd.grad(g.sum(), x)]

    _assert_same_grads(*_both(program))


@pytest.mark.parametrize("create_graph", [False, True])
def test_materialized_zeros_require_grad_only_under_create_graph_as_in_torch(create_graph):
    def program(lib):
        x, unused = _leaf(lib, [1.0, 2.0]), _leaf(lib, [3.0])
        grads = lib.autograd.grad(
            (x * x).sum(), [x, unused], create_graph=create_graph, materialize_grads=True
        )
        return [(_array(g), g.requires_grad, g.grad_fn is None) for g in grads]

    got, want = _both(program)
    for (g, *g_flags), (w, *w_flags) in zip(got, want):
        np.testing.assert_allclose(g, w)
        assert g_flags == w_flags


def test_inputs_as_a_dict_give_a_dict_of_gradients_as_in_torch():
    def program(lib):
        x, w = _leaf(lib, [1.0, 2.0]), _leaf(lib, [3.0])
        grads = lib.autograd.grad((x * x).sum() + (w * x).sum(), {"x": x, "w": w})
        return {name: _array(g) for name, g in grads.items()}

    got, want = _both(program)
    assert list(got) == list(want) == ["x", "w"]
    _assert_same_grads(list(got.values()), list(want.values()))


@pytest.mark.parametrize("form", ["empty list", "empty dict", "a number", "OrderedDict"])
def test_inputs_that_are_not_tensors_raise_as_in_torch(form):
    import collections

    def program(lib):
        x = _leaf(lib, [1.0, 2.0])
        inputs = {
            "empty list": [],
            "empty dict": {},
            "a number": [x, 3.0],
            "OrderedDict": collections.OrderedDict(x=x),
        }[form]
        return lib.autograd.grad((x * x).sum(), inputs)

    got, want = _both(program)
    assert want[0] == got[0] == "raised"
    # PyTorch's error for a number among the inputs is a RuntimeError; chainrule's a TypeError
    assert (TypeError if form in ("a number", "OrderedDict") else RuntimeError) in got[1]


# ---- hooks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("returns", [None, "its gradient"])
@pytest.mark.parametrize("inputs", [False, True])
def test_post_accumulate_grad_hook_must_return_none_as_in_torch(returns, inputs):
    def program(lib):
        x = _leaf(lib, [1.0, 2.0])
        seen = []
        x.register_post_accumulate_grad_hook(
            lambda t: seen.append(_array(t.grad)) if returns is None else t.grad * 2
        )
        (x * x).sum().backward(inputs=[x] if inputs else None)
        return seen + [_array(x.grad)]

    got, want = _both(program)
    if returns is None:
        _assert_same_grads(got, want)
    else:
        assert want[0] == got[0] == "raised" and RuntimeError in got[1]


# ---- autograd.grad(is_grads_batched=True), only_inputs ----------------------------------------
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("unused", ["allow_unused", "materialize_grads"])
def test_batched_grad_outputs_match_torch(create_graph, unused):
    def program(lib):
        x, w, unused_leaf = _leaf(lib, [1.0, 2.0]), _leaf(lib, [3.0]), _leaf(lib, [4.0])
        seeds = [
            _leaf(lib, [[1.0, 0.0], [2.0, 3.0], [0.0, 1.0]]),
            _const(lib, [1.0, -1.0, 0.5]),
        ]
        outputs = [x * x * w, (x * w).sum()]
        grads = lib.autograd.grad(
            outputs, [x, w, unused_leaf], seeds, create_graph=create_graph,
            is_grads_batched=True, **{unused: True},
        )  # fmt: skip
        flags = [None if g is None else (g.requires_grad, g.grad_fn is None) for g in grads]
        values = [_array(g) for g in grads]
        if create_graph:  # and differentiated again, through the seeds too
            values += [_array(g) for g in lib.autograd.grad(grads[0].sum(), [x, seeds[0]])]
        return values, flags

    (got, got_flags), (want, want_flags) = _both(program)
    _assert_same_grads(got, want)
    assert got_flags == want_flags


@pytest.mark.parametrize("seeds", ["wrong shape", "batch sizes differ", "None"])
def test_batched_grad_outputs_of_the_wrong_shape_raise_as_in_torch(seeds):
    def program(lib):
        x = _leaf(lib, [1.0, 2.0])
        y = x * x
        given = {
            "wrong shape": [lib.ones(3, 3, dtype=lib.float64)],
            "batch sizes differ": [
                lib.eye(2, dtype=lib.float64),
                lib.ones(3, 2, dtype=lib.float64),
            ],
            "None": [None],
        }[seeds]
        lib.autograd.grad([y] * len(given), x, given, is_grads_batched=True)

    got, want = _both(program)
    assert want[0] == got[0] == "raised"


def test_only_inputs_false_is_ignored_with_a_warning_as_in_torch():
    def program(lib):
        x = _leaf(lib, [1.0, 2.0])
        with pytest.warns(FutureWarning, match="only_inputs argument is deprecated"):
            return [_array(g) for g in lib.autograd.grad((x * x).sum(), x, only_inputs=False)]

    _assert_same_grads(*_both(program))


# ---- autograd.gradcheck / gradgradcheck: PyTorch's call forms ---------------------------------
def _wrong_square(lib):
    class WrongSquare(lib.autograd.Function):  # its backward forgets the factor 2
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * a

    return WrongSquare.apply


_CHECKS = {
    "tuple of inputs": lambda lib, x, w: lib.autograd.gradcheck(lambda a, b: (a * b).exp(), (x, w)),
    "one tensor": lambda lib, x, w: lib.autograd.gradcheck(lambda a: (a * a).tanh(), x),
    "fast_mode": lambda lib, x, w: lib.autograd.gradcheck(lambda a: a.sin(), (x,), fast_mode=True),
    "wrong, no raise": lambda lib, x, w: lib.autograd.gradcheck(
        _wrong_square(lib), (x,), raise_exception=False
    ),
    "wrong": lambda lib, x, w: lib.autograd.gradcheck(_wrong_square(lib), (x,)),
    "second": lambda lib, x, w: lib.autograd.gradgradcheck(lambda a: (a * a).sin(), (x,)),
    "float32": lambda lib, x, w: lib.autograd.gradcheck(
        lambda a: a * a, (lib.tensor([1.0, 2.0], requires_grad=True),)
    ),
}


@pytest.mark.filterwarnings("ignore:Input #0 requires gradient")  # PyTorch's, on float32
@pytest.mark.parametrize("case", list(_CHECKS))
def test_gradcheck_call_forms_match_torch(case):
    got, want = _both(
        lambda lib: _CHECKS[case](lib, _leaf(lib, [0.5, 1.5]), _leaf(lib, [2.0, -1.0]))
    )
    if isinstance(want, tuple):  # PyTorch raised: chainrule raises too
        assert isinstance(got, tuple) and got[0] == "raised"
    else:
        assert got is want


# ---- the torch.autograd namespace --------------------------------------------------------------
def test_inference_mode_is_reachable_from_autograd_as_in_torch():
    assert cr.autograd.inference_mode is cr.inference_mode
    x = _leaf(cr, [1.0])
    with cr.autograd.inference_mode():
        assert not (x * 2).requires_grad


@pytest.mark.parametrize(
    "name", ["graph", "forward_ad", "Variable"]
)
def test_torch_autograd_names_chainrule_lacks_raise_not_supported_naming_the_alternative(name):
    assert hasattr(torch.autograd, name)
    with pytest.raises(cr.errors.NotSupportedError, match=f"torch.autograd.{name} is not"):
        getattr(cr.autograd, name)
    assert not hasattr(cr.autograd, name)


@pytest.mark.parametrize("seed_requires_grad", [False, True])
def test_create_graph_casts_a_seed_to_its_outputs_dtype_as_in_torch(seed_requires_grad):
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)  # float32
        seed = lib.tensor([1.0, 3.0], dtype=lib.float64, requires_grad=seed_requires_grad)
        (g,) = lib.autograd.grad(x * x, x, grad_outputs=seed, create_graph=True)
        again = lib.autograd.grad(g.sum(), [x, seed] if seed_requires_grad else [x])
        results = [g, *again]
        return [str(t.dtype).replace("torch.", "") for t in results], [_array(t) for t in results]

    (got_dtypes, got), (want_dtypes, want) = _both(program)
    assert got_dtypes == want_dtypes
    _assert_same_grads(got, want)


def _hook_changing_dtype(lib, on, call):
    x = lib.tensor([1.0, 2.0], requires_grad=True)  # float32
    h = x * x
    (x if on == "leaf" else h).register_hook(lambda g: g.to(lib.float64))
    loss = (h * 3).sum()
    if call == "backward":
        loss.backward()
        return _array(x.grad)
    return [_array(g) for g in lib.autograd.grad(loss, x, create_graph=call == "create_graph")]


@pytest.mark.parametrize("on", ["leaf", "non-leaf"])
@pytest.mark.parametrize("call", ["backward", "grad", "create_graph"])
def test_a_hook_that_changes_the_gradients_dtype_raises_as_in_torch(on, call):
    got, want = _both(lambda lib: _hook_changing_dtype(lib, on, call))
    assert want[0] == got[0] == "raised" and RuntimeError in got[1]


@pytest.mark.parametrize("create_graph", [False, True])
def test_an_output_without_grad_among_several_raises_as_in_torch(create_graph):
    def program(lib):
        x = _leaf(lib, [1.0, 2.0])
        outputs = [x.detach().sum(), (x * x).sum()]
        return lib.autograd.grad(outputs, x, create_graph=create_graph, allow_unused=True)

    got, want = _both(program)
    assert want[0] == got[0] == "raised" and RuntimeError in got[1]
