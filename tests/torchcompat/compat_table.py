"""The rows of docs/pytorch.md's compatibility table, each one run under chainrule and PyTorch.

A row is a PyTorch name and a small piece of code written once against ``lib`` (``torch`` or
``chainrule``; ``x`` is ``lib.tensor(X)``). Its status comes from running it, never from a
hand-written claim:

- **identical**: both run and give the same values, dtypes and shapes;
- **differs**: both run and the results differ (the note says how);
- **not yet**: chainrule raises NotSupportedError (its hint is shown) or another error.

``python tests/torchcompat/compat_table.py`` prints the table; the test in
``test_compat_table.py`` fails when docs/pytorch.md holds another one.
"""

from __future__ import annotations

import numpy as np

X = np.array([[1.5, -2.0, 0.5], [0.25, 3.0, -1.0]], dtype=np.float32)
IDX = np.array([[2, 0], [1, 1]])
LABELS = np.array([2, 0])


def _x(lib, requires_grad=False):
    return lib.tensor(X.copy(), requires_grad=requires_grad)


# ---- row bodies that need statements ---------------------------------------------------------
def inference_tensors(lib):
    with lib.inference_mode():
        made = lib.ones(2) * 2
    w = lib.ones(2, requires_grad=True)
    refused = []
    for attempt in (lambda: made.add_(1), lambda: (w * made).sum(), made.requires_grad_):
        try:
            attempt()
            refused.append(False)
        except RuntimeError:
            refused.append(True)
    return made.is_inference(), made.clone().is_inference(), refused


def grad_fn_names_round4(lib):
    x = _x(lib, True)
    outs = [
        lib.lerp(x, x * 2, 0.3),
        lib.lerp(x, x * 2, x),
        lib.nn.functional.smooth_l1_loss(x, x.detach() * 0),
        lib.diag(x[:, :2]),
        lib.trace(x[:, :2]),
        lib.einsum("ij,kj->ik", x, x),
        lib.nn.functional.l1_loss(x, x.detach() * 0, reduction="sum"),
    ]
    before = [o.grad_fn.name() for o in outs]
    sum(o.sum() for o in outs).backward()
    return before, [o.grad_fn.name() for o in outs]


def backward_gradient_keyword(lib):
    x = _x(lib, True)
    (x * 3).backward(gradient=lib.ones_like(x))
    return x.grad


def loader_over_a_list(lib):
    samples = list(zip(X, [0, 1]))
    return [list(b) for b in lib.utils.data.DataLoader(samples, batch_size=2)]


def backward_grad(lib):
    x = _x(lib, True)
    (x * x).sum().backward()
    return x.grad


def grad_is_tensor_zero_(lib):
    x = _x(lib, True)
    x.sum().backward()
    x.grad.zero_()
    return x.grad


def inplace_sub_under_no_grad(lib):
    x = _x(lib, True)
    keep = x
    (x * 2).sum().backward()
    with lib.no_grad():
        x -= 0.1 * x.grad
    return x is keep, x.is_leaf, keep


def data_shares_memory(lib):
    x = _x(lib)
    x.data.mul_(2)
    return x


def relu_signed_zero_and_nan(lib):
    x = lib.tensor(np.array([-0.0, np.nan, 1.5, -2.0], dtype=np.float32), requires_grad=True)
    out = lib.relu(x)
    out.backward(lib.ones(4))
    return out, x.grad, np.signbit(out.detach().numpy())  # −0 stays −0; NaN passes the gradient


def sign_abs_l1_at_nan(lib):
    values = np.array([np.nan, -0.0, 2.0, -3.0], dtype=np.float32)
    x = lib.tensor(values, requires_grad=True)
    (x.abs().sum() + lib.nn.functional.l1_loss(x, lib.zeros(4))).backward()
    return lib.sign(lib.tensor(values)), x.grad  # 0 at NaN, not NaN


def norms_and_value_tests(lib):
    x = _x(lib, requires_grad=True)
    out = x.norm() + x.norm(p=1, dim=1).sum() + x.flip(0).chunk(2, 1)[0].log1p().sum()
    out.backward()
    return out, x.grad, lib.isnan(x / 0), lib.allclose(x, x + 1e-9), lib.equal(x, x.flip(0))


def sorting_and_integer_division(lib):
    x = _x(lib, requires_grad=True)
    values, indices = x.sort(dim=1, descending=True)
    top = x.topk(2, dim=0)
    (values[:, :2].sum() + top.values.sum() + (x % 0.5).sum() + x.fmod(-0.3).sum()).backward()
    ints = lib.tensor(IDX) - 2
    return (values, indices, top.indices, x.argsort(1), x.grad, ints // 3, ints % -3, ints.fmod(3))


def einsum_and_rearranging(lib):
    x = _x(lib, requires_grad=True)
    w = lib.tensor(np.arange(6, dtype=np.float32).reshape(3, 2) / 5)
    out = lib.einsum("ij,jk->ik", x, w).tril() + x.roll(1, 1)[:, :2].repeat(1, 1)
    out = out + lib.outer(x[0, :2], x[1, :2]).triu() + x[0].dot(x[1])
    out.sum().backward()
    return out, x.grad, x.tile((2,))


def tensor_from_float64_array(lib):
    return lib.tensor(X.astype(np.float64))


def float32_times_int_tensor(lib):
    return _x(lib) * lib.tensor(IDX[:, :1].repeat(3, 1).astype(np.int64))


def int_tensor_plus_float(lib):
    return lib.tensor(IDX) + 0.5


def custom_function(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    x = _x(lib, True)
    Square.apply(x).sum().backward()
    return x.grad


def autograd_grad(lib):
    x = _x(lib, True)
    (g,) = lib.autograd.grad((x**3).sum(), x)
    return g


def create_graph_second_derivative(lib):
    x = _x(lib, True)
    (g,) = lib.autograd.grad((x**3).sum(), x, create_graph=True)
    g.sum().backward()
    return x.grad


def grad_fn_next_functions(lib):
    y = (_x(lib, True) * 2).sum()
    return len(y.grad_fn.next_functions) > 0


def grad_fn_names_by_call_form(lib):
    x = _x(lib, True)
    calls = (x.t(), x.transpose(0, 1), x[None].squeeze(0), x.unsqueeze(0), x.split(1)[1])
    calls += (x.split([1, 1])[0], x.max(1).values, 1 - x, 2**x, x.prod(0))
    return [t.grad_fn.name() for t in calls]


def grad_fn_names_of_composites(lib):
    x, m = _x(lib, True), _x(lib, True).T
    calls = (x.var(), lib.var_mean(x, 1)[1], lib.std_mean(x)[0], lib.addmm(x, x, m @ x))
    calls += (x.sort()[0], x.topk(2)[0], x.cummax(1)[0], 2 / x, x.sum(dim=None), x.mean(None))
    calls += (lib.square(x), lib.clamp_min(x, 0.5), lib.clamp(x, min=x[0]), lib.rsub(x, 1))
    return [t.grad_fn.name() for t in calls]


def rsub_and_one_sided_clamps(lib):
    x, i = _x(lib), lib.tensor([1, 2, 3])
    return (
        lib.rsub(x, 2, alpha=3),
        lib.rsub(x, x[0]),
        lib.rsub(i, 2.5),
        x.clamp_min(0.5),
        lib.clamp_max(x, x[1]),
        lib.clamp_min(i, 1.5),
    )


def alpha_float_with_integer_tensors(lib):
    try:
        lib.add(lib.tensor([1, 2]), lib.tensor([3, 4]), alpha=0.5)
    except (RuntimeError, TypeError) as err:  # chainrule: a DTypeError, as for other dtypes
        return str(err)
    return "accepted"


def functional_jacobian_forward_mode(lib):
    x, w = _x(lib), _x(lib)[:, :2]
    return lib.autograd.functional.jacobian(
        lambda x, w: ((x * x).sum(0), w.T @ x.tanh()),
        (x, w),
        vectorize=True,
        strategy="forward-mode",
    )


def second_backward_through_add_alpha(lib):
    x, y = _x(lib, True), _x(lib, True)
    loss = lib.add(x, y, alpha=2).sum()
    loss.backward()
    loss.backward()
    return x.grad, y.grad


def requires_grad_assignment_on_a_non_leaf(lib):
    try:
        (_x(lib, True) * 2).requires_grad = False
    except RuntimeError as err:
        return str(err)
    return "accepted"


def grad_fn_names(lib):
    x = _x(lib, True)
    linear = lib.nn.functional.linear(x, lib.ones(4, 3), lib.zeros(4))
    return [t.grad_fn.name() for t in (x * 2, linear, x.sum(), x.reshape(6), x[0], x.relu())]


def second_backward_without_saved_tensors(lib):
    x = _x(lib, True)
    y = (x + 1).reshape(6).sum()
    y.backward()
    y.backward()  # add, reshape and sum saved no tensor: PyTorch allows it
    return x.grad


def backward_inputs(lib):
    x, w = _x(lib, True), _x(lib, True)
    (x * w).sum().backward(inputs=[x])
    return x.grad, w.grad is None


def materialize_grads(lib):
    x, unused = _x(lib, True), _x(lib, True)
    return lib.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)


def functional_jacobian(lib):
    x, w = _x(lib), _x(lib)[:, :2]
    return lib.autograd.functional.jacobian(lambda x, w: ((x * x).sum(0), w.T @ x.tanh()), (x, w))


def functional_hessian(lib):
    x = _x(lib)[0]
    return lib.autograd.functional.hessian(lambda x: (x.sin() * x).sum(), x)


def functional_products(lib):
    f = lib.autograd.functional
    x, v = _x(lib)[0], _x(lib)[1]
    return (
        f.vjp(lambda x: x.exp() * x, x, v),
        f.jvp(lambda x: x.exp() * x, x, v),
        f.vhp(lambda x: (x**3).sum(), x, v),
        f.hvp(lambda x: (x**3).sum(), x, v),
    )


def func_transforms(lib):
    f = lib.func
    x = _x(lib)

    def loss(t):
        return (t.tanh() * t).sum()

    return (
        f.grad(loss)(x),
        f.vmap(lambda row: (row * row).sum())(x),
        f.jacrev(lambda t: t.exp())(x[0]),
        f.hessian(lambda t: (t**3).sum())(x[0]),
    )


def func_functional_call(lib):
    model = lib.nn.Linear(3, 1)
    params = {"weight": lib.ones(1, 3), "bias": lib.zeros(1)}
    grads = lib.func.grad(lambda p: lib.func.functional_call(model, p, (_x(lib),)).sum())(params)
    return grads["weight"], grads["bias"]


def distributions_log_prob(lib):
    dist = lib.distributions
    loc = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True)
    scale = lib.tensor([1.5, 0.3], dtype=lib.float64, requires_grad=True)
    logits = lib.tensor([[0.2, -1.0, 2.0]], dtype=lib.float64, requires_grad=True)
    normal, categorical = dist.Normal(loc, scale), dist.Categorical(logits=logits)
    total = normal.log_prob(lib.tensor([0.1, 0.2], dtype=lib.float64)).sum()
    total = total + normal.entropy().sum() + categorical.entropy().sum()
    total = total + dist.kl_divergence(normal, dist.Normal(loc.detach() * 0, 1.0)).sum()
    total = total + categorical.log_prob(lib.tensor([2])).sum()
    total.backward()
    return total, loc.grad, scale.grad, logits.grad


def kthvalue_ties(lib):
    t = lib.tensor([[1.0, 2.0, 1.0, 2.0, 1.0, 0.0, 2.0, 1.0], [3.0, 3.0, 3.0, 1.0, 3.0, 3.0, 1, 3]])
    return lib.kthvalue(t, 4, 1)


def tensor_hooks(lib):
    x = _x(lib, True)
    seen = []
    x.register_hook(lambda g: g * 3)
    x.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.sum().item()))
    z = x * x
    z.register_hook(lambda g: g + 1)
    z.sum().backward()
    return x.grad, seen


def module_backward_hooks(lib):
    layer = lib.nn.Linear(3, 2)
    layer.load_state_dict(
        {"weight": lib.tensor(X[:, :3] * 0.5), "bias": lib.tensor(np.array([0.1, -0.2], "f4"))}
    )
    seen = []
    layer.register_full_backward_pre_hook(lambda m, grad_out: (grad_out[0] * 2,))
    layer.register_full_backward_hook(
        lambda m, grad_in, grad_out: seen.append((grad_in[0], grad_out[0])) or (grad_in[0] + 1,)
    )
    x = _x(lib, True)
    layer(x).pow(2).sum().backward()
    return x.grad, layer.weight.grad, seen


def linear_state_dict_keys(lib):
    return tuple(lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.ReLU()).state_dict())


def linear_forward(lib):
    layer = lib.nn.Linear(3, 2)
    layer.load_state_dict(
        {"weight": lib.tensor(X[:, :3] * 0.5), "bias": lib.tensor(np.array([0.1, -0.2], "f4"))}
    )
    return layer(_x(lib))


def _recurrent_run(lib, layer, x, state=None):
    """Fixed weights (sines of a counter), then the output, final state and input gradient."""
    counter = 0
    weights = {}
    for name, shape in [(k, tuple(v.shape)) for k, v in layer.state_dict().items()]:
        size = int(np.prod(shape))
        weights[name] = lib.tensor(np.sin(np.arange(counter, counter + size)).reshape(shape) * 0.4)
        counter += size
    layer.load_state_dict({k: v.float() for k, v in weights.items()})
    x = lib.tensor(x, requires_grad=True)
    out, final = layer(x) if state is None else layer(x, state)
    out.sum().backward()
    return tuple(layer.state_dict()), out, final, x.grad


def lstm_sequence(lib):
    layer = lib.nn.LSTM(3, 2, num_layers=2, bidirectional=True)
    return _recurrent_run(lib, layer, np.stack([X, X[::-1] * 0.5, X * 2]))


def gru_batch_first(lib):
    layer = lib.nn.GRU(3, 2, batch_first=True)
    return _recurrent_run(lib, layer, np.stack([X, X * -0.5]), lib.ones(1, 2, 2) * 0.3)


def rnn_relu_unbatched(lib):
    return _recurrent_run(lib, lib.nn.RNN(3, 2, nonlinearity="relu"), X)


def _fixed_weights(lib, layer):
    """Sines of a counter as every parameter, so both libraries hold the same numbers."""
    counter, weights = 0, {}
    for name, shape in [(k, tuple(v.shape)) for k, v in layer.state_dict().items()]:
        size = int(np.prod(shape))
        weights[name] = lib.tensor(np.sin(np.arange(counter, counter + size)).reshape(shape) * 0.4)
        counter += size
    layer.load_state_dict({k: v.float() for k, v in weights.items()})
    return layer.eval()


def sdpa_bool_mask(lib):
    q = lib.tensor(np.stack([X, X * 0.5]), requires_grad=True)
    mask = lib.tensor(np.array([[True, False], [True, True]]))
    out = lib.nn.functional.scaled_dot_product_attention(q, q * 2, q - 1, attn_mask=mask)
    out.sum().backward()
    return out, q.grad


def multihead_attention_masks(lib):
    layer = _fixed_weights(lib, lib.nn.MultiheadAttention(4, 2, batch_first=True))
    x = lib.tensor(np.stack([np.hstack([X, X[:, :1]]), np.hstack([X[::-1], X[:, 1:2]])]))
    x.requires_grad_(True)
    padding = lib.tensor(np.array([[False, True], [False, False]]))
    out, weights = layer(x, x, x, key_padding_mask=padding, average_attn_weights=False)
    out.sum().backward()
    return tuple(layer.state_dict()), out, weights, x.grad


def transformer_encoder_causal(lib):
    layer = lib.nn.TransformerEncoderLayer(3, 1, dim_feedforward=4, norm_first=True)
    encoder = _fixed_weights(lib, lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False))
    x = lib.tensor(np.stack([X, X * -0.5], axis=1), requires_grad=True)
    out = encoder(x, mask=lib.nn.Transformer.generate_square_subsequent_mask(2), is_causal=True)
    out.sum().backward()
    return tuple(encoder.state_dict()), out, x.grad


def module_dict_names(lib):
    m = lib.nn.ModuleDict({"a": lib.nn.Linear(2, 2), "b": lib.nn.Identity()})
    return tuple(n for n, _ in m.named_parameters())


def parameter_list_names(lib):
    return tuple(n for n, _ in lib.nn.ParameterList([lib.zeros(2), lib.ones(1)]).named_parameters())


def lazy_linear_shape(lib):
    layer = lib.nn.LazyLinear(4)
    layer(lib.zeros(2, 3))
    return tuple(layer.weight.shape)


def sgd_momentum_steps(lib):
    w = lib.tensor(X.copy(), requires_grad=True)
    opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    return w.detach()


def adam_steps(lib):
    w = lib.tensor(X.copy(), requires_grad=True)
    opt = lib.optim.Adam([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    return w.detach()


def optimizer_state_dict_keys(lib):
    w = lib.tensor(X.copy(), requires_grad=True)
    opt = lib.optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    sd = opt.state_dict()
    return tuple(sd), tuple(sd["state"][0]), sd["param_groups"][0]["params"]


def swa_ema_average(lib):
    w = lib.nn.Parameter(lib.tensor(X.copy()))
    model = lib.nn.ParameterList([w])
    swa = lib.optim.swa_utils
    ema = swa.AveragedModel(model, multi_avg_fn=swa.get_ema_multi_avg_fn(0.5))
    mean = swa.AveragedModel(model)
    for _ in range(3):
        with lib.no_grad():
            w.mul_(2.0)
        ema.update_parameters(model)
        mean.update_parameters(model)
    return ema.module[0].detach(), mean.module[0].detach(), mean.n_averaged


def state_dict_shares_memory(lib):
    model = lib.nn.Linear(3, 1)
    model.state_dict()["weight"][...] = 2.0
    return model.weight.detach()


def clip_grad_norm(lib):
    w = lib.tensor(X.copy(), requires_grad=True)
    (w * w).sum().backward()
    total = lib.nn.utils.clip_grad_norm_([w], 1.0)
    return total, w.grad


def weight_norm_linear(lib):
    import warnings

    layer = lib.nn.Linear(3, 2)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(X.copy()))
        layer.bias.zero_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated in PyTorch, warned in both
        layer = lib.nn.utils.weight_norm(layer)
    out = layer(_x(lib))
    out.sum().backward()
    return out, layer.weight_g.grad, layer.weight_v.grad


def spectral_norm_linear(lib):
    layer = lib.nn.Linear(3, 2)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(X.copy()))
        layer.bias.zero_()
    layer = lib.nn.utils.spectral_norm(layer)
    with lib.no_grad():  # u and v are drawn at random: the same start in both
        layer.weight_u.copy_(lib.tensor(np.array([0.6, 0.8], dtype="f4")))
        layer.weight_v.copy_(lib.tensor(np.array([0.0, 0.6, 0.8], dtype="f4")))
    out = layer(_x(lib))
    out.sum().backward()
    return out, layer.weight_u, layer.weight_orig.grad


def parametrized_weight_norm(lib):
    layer = lib.nn.Linear(3, 2)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(X.copy()))
        layer.bias.zero_()
    layer = lib.nn.utils.parametrizations.weight_norm(layer)
    out = layer(_x(lib))
    out.sum().backward()
    originals = layer.parametrizations.weight
    return out, originals.original0.grad, originals.original1.grad


def dataloader_batches(lib):
    data = lib.utils.data.TensorDataset(lib.tensor(np.arange(10.0, dtype="f4")))
    loader = lib.utils.data.DataLoader(data, batch_size=4, drop_last=True)
    return tuple(b[0] for b in loader)


def random_split_lengths(lib):
    data = lib.utils.data.TensorDataset(lib.tensor(np.arange(10.0, dtype="f4")))
    return tuple(len(s) for s in lib.utils.data.random_split(data, [0.7, 0.3]))


def save_load_state_dict(lib):
    import os
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    lib.save({"w": lib.tensor(X), "epoch": 3}, path)
    back = lib.load(path)
    return back["w"], back["epoch"]


def save_load_0d_tensors(lib):
    import os
    import tempfile

    bn = lib.nn.BatchNorm1d(2)
    bn(lib.tensor(X[:, :2].copy()))
    path = os.path.join(tempfile.mkdtemp(), "bn.pt")
    lib.save({"bn": bn.state_dict(), "loss": lib.tensor(0.5)}, path)
    back = lib.load(path)
    lib.nn.BatchNorm1d(2).load_state_dict(back["bn"])
    return back["bn"]["num_batches_tracked"], back["loss"]


def out_argument(lib):
    x = lib.tensor(X)
    y, z, s = lib.empty(2, 2), lib.empty(2, 3), lib.empty(0)
    lib.matmul(x, x.T, out=y)
    lib.mul(x, x, out=z)
    lib.sum(x, 1, out=s)  # an empty out= is resized
    return y, z, s


def rng_state_round_trip(lib):
    lib.manual_seed(7)
    state = lib.get_rng_state()
    first = lib.rand(3)
    lib.set_rng_state(state)
    return lib.equal(lib.rand(3), first), lib.initial_seed(), state.dtype == lib.uint8


def embedding_from_pretrained(lib):
    table = lib.tensor(X.T.copy(), requires_grad=True)
    layer = lib.nn.Embedding.from_pretrained(table.detach(), freeze=False, padding_idx=0)
    ids = lib.tensor([[0, 2], [1, 0]])
    out = layer(ids) + lib.nn.functional.embedding(ids, table, padding_idx=1)
    out.sum().backward()
    return out, layer.weight.grad, table.grad


def embedding_options(lib):
    table = lib.tensor(X.T.copy() * 3, requires_grad=True)
    layer = lib.nn.Embedding(*table.shape, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)
    with lib.no_grad():
        layer.weight.copy_(table)
    ids = lib.tensor([[0, 2], [2, 0]])
    out = layer(ids)
    out.sum().backward()
    return out, layer.weight, layer.weight.grad


def format_loss(lib):
    return f"{lib.tensor(0.123456):.4f}"


def max_dim_named_tuple(lib):
    values, indices = _x(lib).max(dim=1)
    return values, indices


def var_default(lib):
    return _x(lib).var()


def cuda_is_available(lib):
    return lib.cuda.is_available()


# (section, PyTorch name, code using lib, or a function of lib, note when it differs)
ROWS = [
    ("Creation", "torch.tensor", "lib.tensor([[1, 2], [3, 4]])", ""),
    (
        "Creation",
        "torch.tensor (float64 array)",
        tensor_from_float64_array,
        "chainrule makes float32 from float64 (and float16) NumPy data unless dtype= says "
        "otherwise",
    ),
    ("Creation", "torch.zeros / ones", "(lib.zeros(2, 3), lib.ones((2,)))", ""),
    ("Creation", "torch.full", "(lib.full((2,), 1.5), lib.full((2,), 7))", ""),
    (
        "Creation",
        "torch.zeros_like / ones_like / full_like",
        "(lib.zeros_like(x), lib.full_like(x, 2.0))",
        "",
    ),
    ("Creation", "torch.arange", "lib.arange(0, 10, 3)", ""),
    ("Creation", "torch.linspace", "lib.linspace(-1, 1, 5)", ""),
    ("Creation", "torch.logspace", "lib.logspace(0, 2, 3)", ""),
    ("Creation", "torch.eye", "lib.eye(3)", ""),
    ("Creation", "torch.from_numpy", "lib.from_numpy(X.astype(np.float64))", ""),
    ("Creation", "torch.numel", "lib.numel(x)", ""),
    (
        "Creation",
        "torch.randn / rand / randint / randperm (shapes)",
        "(tuple(lib.randn(2, 3).shape), tuple(lib.randint(0, 5, (4,)).shape), "
        "tuple(lib.randperm(6).shape), tuple(lib.rand(2).shape))",
        "",
    ),
    ("Creation", "torch.normal (shape)", "tuple(lib.normal(0.0, 1.0, size=(3, 2)).shape)", ""),
    (
        "Creation",
        "torch.initial_seed / get_rng_state / set_rng_state",
        rng_state_round_trip,
        "the state is chainrule's own (NumPy's PCG64); PyTorch's state is refused",
    ),
    (
        "Creation",
        "torch.Size",
        "(x.shape == lib.Size([2, 3]), isinstance(x.shape, lib.Size))",
        "a shape prints as `(2, 3)`, PyTorch's as `torch.Size([2, 3])`",
    ),
    (
        "Dtypes and devices",
        "torch.float / double / long / int / bool",
        "[str(lib.zeros(1, dtype=d).dtype).replace('torch.', '') for d in "
        "(lib.float, lib.double, lib.long, lib.int, lib.bool)]",
        "",
    ),
    (
        "Dtypes and devices",
        "torch.float32.is_floating_point / itemsize, Tensor.is_floating_point()",
        "(lib.float32.is_floating_point, lib.int64.is_signed, lib.float64.itemsize, "
        "x.is_floating_point(), lib.is_floating_point(x.long()))",
        "a tensor's dtype is NumPy's: x.dtype.is_floating_point raises AttributeError",
    ),
    ("Dtypes and devices", "torch.device('cpu')", "str(lib.device('cpu'))", ""),
    (
        "Dtypes and devices",
        "torch.cuda.is_available",
        cuda_is_available,
        "chainrule runs on the CPU; device='cuda' raises NotImplementedError",
    ),
    ("Dtypes and devices", "float32 tensor * int64 tensor", float32_times_int_tensor, ""),
    ("Dtypes and devices", "int64 tensor + Python float", int_tensor_plus_float, ""),
    (
        "Dtypes and devices",
        "add(int64, int64, alpha=0.5) (raises)",
        alpha_float_with_integer_tensors,
        "",
    ),
    ("Math", "torch.rsub / clamp_min / clamp_max", rsub_and_one_sided_clamps, ""),
    (
        "Math",
        "torch.exp / log / sqrt / abs",
        "(lib.exp(x), lib.log(lib.abs(x)), lib.sqrt(lib.abs(x)))",
        "",
    ),
    (
        "Math",
        "torch.sin / cos / tan",
        "(lib.sin(x), lib.cos(x), lib.tan(x / 4))",
        "",
    ),
    (
        "Math",
        "torch.asin / acos / atan / atan2",
        "(lib.asin(x / 4), lib.acos(x / 4), lib.atan(x), lib.atan2(x, lib.tensor(X[::-1].copy())))",
        "",
    ),
    (
        "Math",
        "torch.sinh / cosh / tanh / sigmoid",
        "(lib.sinh(x), lib.cosh(x), lib.tanh(x), lib.sigmoid(x))",
        "",
    ),
    (
        "Math",
        "torch.floor / ceil / round / trunc / sign",
        "(lib.floor(x), lib.ceil(x), lib.round(x), lib.trunc(x), lib.sign(x))",
        "",
    ),
    (
        "Math",
        "torch.rsqrt / reciprocal / erf",
        "(lib.rsqrt(lib.abs(x)), lib.reciprocal(x), lib.erf(x))",
        "",
    ),
    (
        "Math",
        "torch.add / sub / mul / div / neg / pow / clone",
        "(lib.add(x, 1.5), lib.sub(x, x), lib.add(x, x, alpha=2), lib.sub(x, 1, alpha=0.5), "
        "lib.mul(x, 2), lib.div(x, 4), lib.neg(x), "
        "lib.pow(x, 2), lib.clone(x))",
        "",
    ),
    ("Math", "torch.clamp", "lib.clamp(x, -1, 1)", ""),
    (
        "Math",
        "torch.maximum / minimum",
        "(lib.maximum(x, lib.zeros(3)), lib.minimum(x, lib.zeros(3)))",
        "",
    ),
    ("Math", "torch.max(a, b) (elementwise)", "lib.max(x, lib.zeros(2, 3))", ""),
    (
        "Math",
        "torch.matmul / mm / @",
        "(lib.matmul(x, lib.tensor(X.T.copy())), lib.mm(x, "
        "lib.tensor(X.T.copy())), x @ lib.tensor(X.T.copy()))",
        "",
    ),
    ("Math", "sign, abs and l1_loss at NaN (value, gradient)", sign_abs_l1_at_nan, ""),
    (
        "Math",
        "torch.addmm (beta=0 ignores NaN) / baddbmm",
        "(lib.addmm(x[0] * np.nan, x.t(), x, beta=0), "
        "lib.baddbmm(x[0, :2], x[None], x.t()[None], beta=0.5, alpha=2))",
        "",
    ),
    (
        "Math",
        "torch.addcmul / addcdiv / kron / cross",
        "(lib.addcmul(x, x, x, value=0.5), lib.addcdiv(x, x, x + 3, value=2), "
        "lib.kron(x, x[0]), lib.cross(x, x.flip(1), dim=1))",
        "",
    ),
    ("Math", "torch.cdist (p=2, 1, inf)", "(lib.cdist(x, x), lib.cdist(x, x[:1], p=1.0))", ""),
    ("Math", "torch.cumprod (with a zero)", "lib.cumprod(lib.cat([x, x * 0]), 0)", ""),
    (
        "Math",
        "torch.log2 / log10 / logit (eps=)",
        "(lib.log2(x.abs()), x.abs().log10(), lib.logit(x.sigmoid()), x.logit(eps=0.1))",
        "",
    ),
    (
        "Math",
        "torch.dist / trapezoid / cumulative_trapezoid",
        "(lib.dist(x, x.flip(0), 3), lib.trapezoid(x, dx=0.5), "
        "lib.cumulative_trapezoid(x, lib.tensor([0.0, 1.0, 3.0])))",
        "",
    ),
    (
        "Math",
        "torch.matmul / mul / sum (out=)",
        out_argument,
        "out= with a result that requires grad raises, as in PyTorch",
    ),
    (
        "Reductions",
        "torch.sum / mean (dim, keepdim)",
        "(lib.sum(x, dim=1, keepdim=True), x.mean(0))",
        "",
    ),
    ("Reductions", "Tensor.sum(1, keepdim=True)", "x.sum(1, keepdim=True)", ""),
    (
        "Reductions",
        "torch.prod / cumsum",
        "(lib.prod(x, 1), lib.cumsum(x, 1))",
        "",
    ),
    ("Reductions", "Tensor.max(dim) -> (values, indices)", max_dim_named_tuple, ""),
    (
        "Reductions",
        "Tensor.max() / argmax(dim)",
        "(x.max(), x.argmax(1))",
        "",
    ),
    ("Reductions", "Tensor.var() / std() default", var_default, ""),
    ("Reductions", "torch.logsumexp", "lib.logsumexp(x, dim=1)", ""),
    ("Reductions", "torch.median / Tensor.median(dim)", "(lib.median(x), tuple(x.median(1)))", ""),
    (
        "Reductions",
        "torch.unique (return_inverse, return_counts)",
        "lib.unique(lib.tensor([[3, 1], [3, 2]]), return_inverse=True, return_counts=True)",
        "",
    ),
    ("Reductions", "torch.bincount", "lib.bincount(lib.tensor([0, 2, 2, 5]))", ""),
    ("Selection", "torch.nonzero / argwhere", "(lib.nonzero(x > 0), lib.argwhere(x < 0))", ""),
    ("Selection", "torch.masked_select", "lib.masked_select(x, x > 0)", ""),
    (
        "Selection",
        "torch.diag / diagonal / Tensor.trace",
        "(lib.diag(x), lib.diagonal(x, 1), x.trace())",
        "",
    ),
    ("Selection", "torch.trace (a function)", "lib.trace(x[:, :2])", ""),
    ("Selection", "torch.lerp / diff", "(lib.lerp(x, x * 2, 0.75), lib.diff(x, dim=1))", ""),
    (
        "Selection",
        "torch.logical_and / or / xor",
        "(lib.logical_and(x > 0, x < 1), lib.logical_xor(x, x > 0))",
        "",
    ),
    (
        "Selection",
        "torch.searchsorted (right=) / repeat_interleave",
        "(lib.searchsorted(lib.tensor([1.0, 2.0, 2.0, 3.0]), x, right=True), "
        "lib.repeat_interleave(x, lib.tensor([2, 0]), dim=0))",
        "",
    ),
    (
        "Selection",
        "torch.mode (smallest most frequent, its last index)",
        "tuple(lib.mode(lib.tensor([[3, 1, 3, 1, 2], [0, 2, 2, 0, 0]]), 1))",
        "",
    ),
    (
        "Shape",
        "Tensor.reshape / view / flatten",
        "(x.reshape(3, 2), x.view(-1), lib.flatten(x))",
        "",
    ),
    (
        "Shape",
        "Tensor.t / T / transpose / permute",
        "(x.t(), x.T, x.transpose(0, 1), x.permute(1, 0))",
        "",
    ),
    (
        "Shape",
        "torch.squeeze / unsqueeze",
        "(x.unsqueeze(0), x.unsqueeze(-1).squeeze(-1))",
        "",
    ),
    (
        "Shape",
        "torch.cat / stack",
        "(lib.cat([x] * 2, dim=1), lib.stack([x] * 2))",
        "",
    ),
    ("Shape", "torch.split", "tuple(lib.split(x, 1, dim=1))", ""),
    (
        "Indexing",
        "Tensor[...] (slices, masks, int arrays)",
        "(x[:, 1], x[x > 0], x[range(2), lib.tensor(LABELS)])",
        "`x[0]` is a 0-d view: `x[0] += 1` writes into `x`",
    ),
    (
        "Indexing",
        "Tensor[int, :, int array] (integers among index arrays)",
        "(x.reshape(1, 2, 3)[0, :, [0, 2]], x.reshape(1, 2, 3)[:, 0, [2, 1]])",
        "the integers select first, as in PyTorch (NumPy moves the arrays' axis to the front); "
        "a uint8 index tensor is a mask, with PyTorch's warning",
    ),
    (
        "Indexing",
        "torch.where (3 and 1 arguments)",
        "(lib.where(x > 0, x, lib.zeros(2, 3)), lib.where(x > 0))",
        "",
    ),
    (
        "Indexing",
        "torch.gather / scatter",
        "(lib.gather(x, 1, lib.tensor(IDX)), "
        "lib.scatter(lib.zeros(2, 3), 1, lib.tensor(IDX), lib.ones(2, 2)))",
        "a negative `gather` index raises, as in PyTorch",
    ),
    (
        "Indexing",
        "torch.scatter_reduce (amax, mean, include_self) / scatter(reduce=)",
        "(x.scatter_reduce(1, lib.tensor(IDX), x, 'amax'), "
        "x.scatter_reduce(1, lib.tensor(IDX), x, 'mean', include_self=False), "
        "x.scatter(1, lib.tensor(IDX), 2.0, reduce='multiply'))",
        "",
    ),
    (
        "Indexing",
        "torch.histc",
        "(lib.histc(x, bins=4), lib.histc(x, bins=3, min=-1, max=1))",
        "no gradient, as in PyTorch",
    ),
    (
        "Indexing",
        "F.interpolate (nearest, bilinear) / nn.Upsample",
        "(lib.nn.functional.interpolate(x.reshape(1, 1, 2, 3), scale_factor=2), "
        "lib.nn.functional.interpolate(x.reshape(1, 1, 2, 3), size=(3, 5), mode='bilinear', "
        "align_corners=True), lib.nn.Upsample(scale_factor=1.5)(x.reshape(1, 2, 3)))",
        "",
    ),
    (
        "Indexing",
        "F.pairwise_distance (p=2, 1, inf)",
        "tuple(lib.nn.functional.pairwise_distance(x, x.flip(0), p=p) for p in (2, 1, "
        "float('inf')))",
        "",
    ),
    (
        "Indexing",
        "torch.masked_scatter / bucketize",
        "(x.masked_scatter(x > 0, lib.arange(6.0)), "
        "lib.bucketize(x, lib.tensor([-1.0, 0.5, 2.0]), right=True))",
        "",
    ),
    (
        "Indexing",
        "torch.index_select / masked_fill",
        "(lib.index_select(x, 1, lib.tensor([2, 0])), x.masked_fill(x < 0, 0.0))",
        "a 0-d value tensor that requires grad gets its gradient",
    ),
    (
        "Indexing",
        "F.one_hot / F.pad",
        "(lib.nn.functional.one_hot(lib.tensor(LABELS), 3), lib.nn.functional.pad(x, (1, 1)))",
        "",
    ),
    (
        "Tensor methods",
        "Tensor.long / int / float / double / bool",
        "(x.long(), x.int(), x.double(), x.bool())",
        "",
    ),
    (
        "Tensor methods",
        "Tensor.to(dtype) / to('cpu') / type()",
        "(x.to(lib.float64), x.to('cpu'), x.type())",
        "",
    ),
    (
        "Tensor methods",
        "Tensor.add / sub / mul / div / neg / pow",
        "(x.add(1, alpha=2), x.sub(1), x.mul(2), x.div(2), x.neg(), x.pow(2))",
        "",
    ),
    ("Tensor methods", "~ on bool tensors", "~(x > 0)", ""),
    ("Tensor methods", "format(t, '.4f')", format_loss, ""),
    (
        "Tensor methods",
        "list[t] with an integer tensor (__index__)",
        "['a', 'b', 'c'][x[0].argmax()] + str(list(range(lib.tensor(2))))",
        "",
    ),
    (
        "Tensor methods",
        "Tensor.item / tolist / numpy / size / dim / numel",
        "(x[0, 0].item(), x.tolist(), x.numpy(), tuple(x.size()), x.dim(), x.numel())",
        "",
    ),
    (
        "Tensor methods",
        "norm, flip, chunk, log1p, isnan, allclose, equal",
        norms_and_value_tests,
        "",
    ),
    (
        "Tensor methods",
        "sort, argsort, topk, // and % (floor_divide, remainder), fmod",
        sorting_and_integer_division,
        "",
    ),
    (
        "Tensor methods",
        "einsum, tril, triu, roll, repeat, tile, dot, outer",
        einsum_and_rearranging,
        "",
    ),
    ("Tensor methods", "kthvalue with ties (index)", kthvalue_ties, ""),
    ("Tensor methods", "empty(size=...)", "lib.empty(size=(2, 3), dtype=lib.float64).shape", ""),
    ("Autograd", "Tensor.backward / .grad", backward_grad, ""),
    ("Autograd", ".grad as a Tensor (grad.zero_())", grad_is_tensor_zero_, ""),
    ("Autograd", "in-place p -= lr * p.grad under no_grad", inplace_sub_under_no_grad, ""),
    ("Autograd", ".data shares memory (data.mul_)", data_shares_memory, ""),
    ("Autograd", "torch.autograd.Function", custom_function, ""),
    ("Autograd", "torch.autograd.grad", autograd_grad, ""),
    ("Autograd", "create_graph=True (second derivatives)", create_graph_second_derivative, ""),
    ("Autograd", "grad_fn.next_functions", grad_fn_next_functions, ""),
    ("Autograd", "inference_mode: inference tensors and their errors", inference_tensors, ""),
    ("Autograd", "Tensor.backward(gradient=...)", backward_gradient_keyword, ""),
    (
        "Autograd",
        "grad_fn.name() of lerp, smooth_l1_loss, diag, trace, einsum, before and after backward",
        grad_fn_names_round4,
        "",
    ),
    ("Autograd", "register_hook / register_post_accumulate_grad_hook", tensor_hooks, ""),
    ("Autograd", "grad_fn.name()", grad_fn_names, ""),
    (
        "Autograd",
        "grad_fn.name() of t, transpose, squeeze, split, max(dim), 1 - x, 2 ** x",
        grad_fn_names_by_call_form,
        "",
    ),
    (
        "Autograd",
        "grad_fn.name() of var, var_mean, std_mean, addmm, sort, topk, cummax, 2 / x, "
        "sum(dim=None), mean(None), square, clamp_min, clamp(min=tensor), rsub",
        grad_fn_names_of_composites,
        "",
    ),
    ("Autograd", "second backward() through add(alpha=)", second_backward_through_add_alpha, ""),
    (
        "Autograd",
        "requires_grad = False on a non-leaf (raises)",
        requires_grad_assignment_on_a_non_leaf,
        "",
    ),
    (
        "Autograd",
        "second backward() where nothing was saved",
        second_backward_without_saved_tensors,
        "",
    ),
    ("Autograd", "backward(inputs=...)", backward_inputs, ""),
    ("Autograd", "autograd.grad(materialize_grads=True)", materialize_grads, ""),
    ("Autograd", "torch.autograd.functional.jacobian", functional_jacobian, ""),
    (
        "Autograd",
        'autograd.functional.jacobian(strategy="forward-mode", vectorize=True)',
        functional_jacobian_forward_mode,
        "",
    ),
    ("Autograd", "torch.autograd.functional.hessian", functional_hessian, ""),
    ("Autograd", "autograd.functional.vjp / jvp / vhp / hvp", functional_products, ""),
    ("Autograd", "torch.func.grad / vmap / jacrev / hessian", func_transforms, ""),
    ("Autograd", "torch.func.functional_call (grad of a params dict)", func_functional_call, ""),
    (
        "Autograd",
        "torch.distributions Normal / Categorical log_prob, entropy, kl_divergence",
        distributions_log_prob,
        "samples come from chainrule's generator (not PyTorch's bits)",
    ),
    ("nn", "nn.Linear (forward, weight layout)", linear_forward, ""),
    ("nn", "nn.Sequential state_dict keys", linear_state_dict_keys, ""),
    ("nn", "Module.state_dict() entries share memory", state_dict_shares_memory, ""),
    (
        "nn",
        "Module.register_full_backward_hook / register_full_backward_pre_hook",
        module_backward_hooks,
        "",
    ),
    ("nn", "nn.LSTM (2 layers, bidirectional: state_dict, output, (h_n, c_n))", lstm_sequence, ""),
    ("nn", "nn.GRU (batch_first, h_0 given)", gru_batch_first, ""),
    ("nn", "nn.RNN (relu, unbatched input)", rnn_relu_unbatched, ""),
    ("nn", "F.scaled_dot_product_attention (bool attn_mask)", sdpa_bool_mask, ""),
    (
        "nn",
        "nn.MultiheadAttention (key_padding_mask, per-head weights)",
        multihead_attention_masks,
        "",
    ),
    ("nn", "nn.TransformerEncoder (pre-norm, causal mask)", transformer_encoder_causal, ""),
    ("nn", "nn.ModuleDict / nn.Identity", module_dict_names, ""),
    ("nn", "nn.ParameterList", parameter_list_names, ""),
    ("nn", "nn.LazyLinear", lazy_linear_shape, ""),
    ("nn", "nn.Unflatten", "lib.nn.Unflatten(1, (3, 1))(x)", ""),
    ("nn", "relu at −0 and NaN (value, gradient, sign)", relu_signed_zero_and_nan, ""),
    (
        "nn",
        "nn.functional.relu / softmax / log_softmax",
        "(lib.nn.functional.relu(x), lib.nn.functional.softmax(x, dim=1), "
        "lib.nn.functional.log_softmax(x, dim=1))",
        "",
    ),
    (
        "nn",
        "nn.functional.cross_entropy / mse_loss",
        "(lib.nn.functional.cross_entropy(x, lib.tensor(LABELS)), "
        "lib.nn.functional.mse_loss(x, lib.zeros(2, 3)))",
        "",
    ),
    (
        "nn",
        "nn.CrossEntropyLoss(reduction='none')",
        "lib.nn.CrossEntropyLoss(reduction='none')(x, lib.tensor(LABELS))",
        "",
    ),
    ("nn", "nn.utils.clip_grad_norm_", clip_grad_norm, ""),
    ("nn", "nn.utils.weight_norm", weight_norm_linear, ""),
    ("nn", "nn.utils.spectral_norm (training step)", spectral_norm_linear, ""),
    ("nn", "nn.utils.parametrizations.weight_norm", parametrized_weight_norm, ""),
    (
        "nn",
        "nn.Embedding.from_pretrained / F.embedding (padding_idx)",
        embedding_from_pretrained,
        "",
    ),
    (
        "nn",
        "nn.Embedding(max_norm, norm_type, scale_grad_by_freq)",
        embedding_options,
        "",
    ),
    ("optim", "optim.SGD(momentum=0.9)", sgd_momentum_steps, ""),
    ("optim", "optim.Adam", adam_steps, ""),
    ("optim", "optimizer.state_dict() layout", optimizer_state_dict_keys, ""),
    ("optim", "optim.swa_utils.AveragedModel (EMA and SWA)", swa_ema_average, ""),
    ("utils.data", "DataLoader(drop_last=True)", dataloader_batches, ""),
    ("utils.data", "DataLoader over a list of (x, y) samples", loader_over_a_list, ""),
    ("utils.data", "random_split (fractions)", random_split_lengths, ""),
    (
        "Files",
        "torch.save / torch.load (dict of tensors and numbers)",
        save_load_state_dict,
        "chainrule writes safetensors + JSON, PyTorch a pickle archive; neither reads the other's",
    ),
    (
        "Files",
        "torch.save / torch.load of 0-d tensors (a BatchNorm's counter)",
        save_load_0d_tensors,
        "",
    ),
]

# PyTorch names that chainrule reports as not supported, with the nearest spelling
NOT_YET = [
    ("torch", "fft"),
    ("torch", "jit"),
    ("torch", "amp"),
]
# Tensor methods likewise: NotSupportedError, hasattr False (tensor_methods.TensorMethods)
NOT_YET_METHODS = ["lu", "cholesky_solve", "pin_memory"]


# ---- running a row -----------------------------------------------------------------------------
def plain(value):
    """A result as comparable plain data: arrays (with dtype), tuples, numbers, strings."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return np.array(value.detach().numpy())
    if hasattr(value, "numpy") and callable(value.numpy):
        return np.array(value.numpy())
    if isinstance(value, np.ndarray):
        return np.array(value)
    if isinstance(value, (tuple, list)):
        return tuple(plain(v) for v in value)
    return value


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind == "f":
            return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) < 1e-6
    return type(a) is type(b) and a == b


def run(body, lib):
    if callable(body):
        return plain(body(lib))
    scope = {"lib": lib, "np": np, "X": X, "IDX": IDX, "LABELS": LABELS, "x": _x(lib)}
    return plain(eval(body, scope))


def status(body, cr, torch, note: str) -> tuple[str, str]:
    """(status, detail) of one row: identical, differs or not yet."""
    from chainrule.torch_compat import NotSupportedError

    theirs = run(body, torch)
    try:
        ours = run(body, cr)
    except NotSupportedError as err:
        return "not yet", str(err).split("nearest: ")[-1].removesuffix(" (docs/pytorch.md)")
    except Exception as err:  # noqa: BLE001 - the table reports what happens
        return "not yet", f"raises {type(err).__name__}"
    if same(ours, theirs):
        return "identical", note
    return "differs", note or "different values, dtypes or result types"


def table(cr, torch) -> str:
    lines = []
    section = None
    for sec, name, body, note in ROWS:
        if sec != section:
            lines += ["", f"### {sec}", "", "| PyTorch | chainrule | notes |", "|---|---|---|"]
            section = sec
        state, detail = status(body, cr, torch, note)
        lines.append(f"| `{name}` | {state} | {detail} |")
    lines += ["", "### Not yet (raise NotImplementedError naming the nearest spelling)", ""]
    lines += ["| PyTorch | nearest in chainrule |", "|---|---|"]
    for module, name in NOT_YET:
        target = {"torch": cr, "torch.nn": cr.nn, "torch.nn.functional": cr.nn.functional}[module]
        try:
            getattr(target, name)
        except NotImplementedError as err:
            hint = str(err).split("nearest: ")[-1].removesuffix(" (docs/pytorch.md)")
            lines.append(f"| `{module}.{name}` | {hint} |")
        else:
            lines.append(f"| `{module}.{name}` | (now available: move it to the table above) |")
    counts = {s: 0 for s in ("identical", "differs", "not yet")}
    for _, _, body, note in ROWS:
        counts[status(body, cr, torch, note)[0]] += 1
    summary = (
        f"{len(ROWS)} rows run against PyTorch: {counts['identical']} identical, "
        f"{counts['differs']} differ, {counts['not yet']} not yet."
    )
    return "\n".join([summary, *lines]).strip() + "\n"


if __name__ == "__main__":
    import torch

    import chainrule

    print(table(chainrule, torch))
