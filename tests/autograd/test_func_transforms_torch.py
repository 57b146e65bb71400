"""chainrule.func against torch.func: grad, grad_and_value, vjp, jacrev, jacfwd, hessian and
vmap, on tensors and on dicts of parameters, nested, with the same errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import func as crf

torch = pytest.importorskip("torch")
tf = torch.func

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
W = RNG.standard_normal((4, 2))


def _both(*arrays):
    return [cr.from_numpy(a.copy()) for a in arrays], [torch.from_numpy(a.copy()) for a in arrays]


def _np(tree):
    if isinstance(tree, (tuple, list)):
        return [_np(t) for t in tree]
    if isinstance(tree, dict):
        return {k: _np(v) for k, v in tree.items()}
    return tree.detach().numpy()


def _close(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b)
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            _close(ours[k], theirs[k])
    else:
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-12, atol=1e-14)


def f_lib(lib):
    def f(x, w):
        return lib.tanh(x @ w).pow(2).sum() + (x * x).mean()

    return f


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0), -1])
def test_grad_and_value_match_torch(argnums):
    (x, w), (tx, tw) = _both(X, W)
    gv = crf.grad_and_value(f_lib(cr), argnums=argnums)(x, w)
    tgv = tf.grad_and_value(f_lib(torch), argnums=argnums)(tx, tw)
    _close(gv, tgv)
    _close(
        crf.grad(f_lib(cr), argnums=argnums)(x, w), tf.grad(f_lib(torch), argnums=argnums)(tx, tw)
    )
    assert not x.requires_grad and gv[1].grad_fn is None  # nothing leaks out


def test_grad_of_a_params_dict_through_functional_call_matches_torch():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    theirs = theirs.double()
    ours = cr.nn.Sequential(cr.nn.Linear(4, 5), cr.nn.Tanh(), cr.nn.Linear(5, 1)).to(cr.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    (x,), (tx,) = _both(X)

    def loss(lib, fc, model):
        return lambda p, x: (fc(model, p, (x,)) ** 2).mean()

    p = {k: v.detach() for k, v in ours.named_parameters()}
    tp = {k: v.detach() for k, v in theirs.named_parameters()}
    g = crf.grad(loss(cr, crf.functional_call, ours))(p, x)
    tg = tf.grad(loss(torch, tf.functional_call, theirs))(tp, tx)
    _close(g, tg)
    # per-example gradients: vmap over the batch of a grad, as the torch.func tutorial
    per = crf.vmap(crf.grad(loss(cr, crf.functional_call, ours)), in_dims=(None, 0))(p, x)
    tper = tf.vmap(tf.grad(loss(torch, tf.functional_call, theirs)), in_dims=(None, 0))(tp, tx)
    _close(per, tper)
    assert ours[0].weight.grad is None  # the model's own parameters are untouched


def test_nested_grad_and_hessian_match_torch():
    (x,), (tx,) = _both(X[0])

    def f(lib):
        return lambda v: (lib.sin(v) * v.pow(3)).sum()

    _close(crf.grad(f(cr))(x), tf.grad(f(torch))(tx))
    second = crf.grad(lambda v: crf.grad(f(cr))(v).sum())(x)
    tsecond = tf.grad(lambda v: tf.grad(f(torch))(v).sum())(tx)
    _close(second, tsecond)
    _close(crf.hessian(f(cr))(x), tf.hessian(f(torch))(tx))


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobians_match_torch_with_tuples_and_argnums(transform):
    (x, w), (tx, tw) = _both(X, W)

    def f(lib):
        return lambda x, w: (lib.tanh(x @ w), (x**2).sum(dim=0))

    ours = getattr(crf, transform)(f(cr), argnums=(0, 1))(x, w)
    theirs = getattr(tf, transform)(f(torch), argnums=(0, 1))(tx, tw)
    _close(ours, theirs)
    _close(
        getattr(crf, transform)(lambda w: f(cr)(x, w)[0])(w),
        getattr(tf, transform)(lambda w: f(torch)(tx, w)[0])(tw),
    )


def test_vjp_matches_torch():
    (x, w), (tx, tw) = _both(X, W)
    out, fn = crf.vjp(lambda x, w: cr.tanh(x @ w), x, w)
    tout, tfn = tf.vjp(lambda x, w: torch.tanh(x @ w), tx, tw)
    _close(out, tout)
    (v,), (tv,) = _both(RNG.standard_normal((3, 2)))
    _close(fn(v), tfn(tv))
    with pytest.raises(RuntimeError, match="cotangent of shape"):
        fn(cr.ones(2, 2))


def test_has_aux_returns_the_aux_as_torch():
    (x,), (tx,) = _both(X)
    g, aux = crf.grad(lambda v: ((v**2).sum(), v.mean()), has_aux=True)(x)
    tg, taux = tf.grad(lambda v: ((v**2).sum(), v.mean()), has_aux=True)(tx)
    _close([g, aux], [tg, taux])
    with pytest.raises(RuntimeError, match="should be a tuple"):
        crf.grad(lambda v: (v**2).sum(), has_aux=True)(x)


@pytest.mark.parametrize(
    ("in_dims", "out_dims"), [(0, 0), (1, 0), ((0, None), 1), ((None, 1), 0), (-1, -1)]
)
def test_vmap_matches_torch(in_dims, out_dims):
    (a, b), (ta, tb) = _both(RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3)))

    def f(lib):
        return lambda u, v: lib.tanh(u * 2 + v).unsqueeze(0)

    ours = crf.vmap(f(cr), in_dims=in_dims, out_dims=out_dims)(a, b)
    theirs = tf.vmap(f(torch), in_dims=in_dims, out_dims=out_dims)(ta, tb)
    _close(ours, theirs)


def test_vmap_errors_as_torch():
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        crf.vmap(lambda u, v: u + v)(cr.ones(2), cr.ones(3))
    with pytest.raises(ValueError, match="We cannot vmap over non-Tensor arguments"):
        crf.vmap(lambda u, v: u * v)(cr.ones(2), 3.0)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        crf.vmap(lambda u: u + cr.randn(1))(cr.ones(2, 1))
    with pytest.raises(RuntimeError, match="randomness error mode"):
        tf.vmap(lambda u: u + torch.randn(1))(torch.ones(2, 1))
    different = crf.vmap(lambda u: u + cr.randn(1), randomness="different")(cr.zeros(2, 1))
    same = crf.vmap(lambda u: u + cr.randn(1), randomness="same")(cr.zeros(2, 1))
    assert different[0].item() != different[1].item() and same[0].item() == same[1].item()
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        crf.vmap(lambda u: u, randomness="sometimes")


def test_grad_errors_as_torch():
    (x,), (tx,) = _both(X)
    for lib, g in ((cr, crf.grad), (torch, tf.grad)):
        v = x if lib is cr else tx
        with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor"):
            g(lambda u: u * 2)(v)
        with pytest.raises(RuntimeError, match="only 1 positional inputs"):
            g(lambda u: u.sum(), argnums=1)(v)
    # a function that ignores its argument has a zero gradient, as torch.func gives
    _close(
        crf.grad(lambda u: cr.tensor(1.0, dtype=cr.float64))(x),
        tf.grad(lambda u: torch.tensor(1.0, dtype=torch.float64))(tx),
    )
