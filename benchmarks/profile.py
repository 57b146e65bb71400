"""Profile chainrule's side of one case: ``python -m benchmarks.profile b [--steps N]``.

Prints a pyinstrument call tree (``pip install pyinstrument``) of N training steps, after 200
warm-up steps, and a breakdown measured without a profiler: forward + loss, ``backward()``
(split into the topological sort, the ops' own ``backward`` methods and the engine's
bookkeeping) and the optimizer step. Profilers inflate small functions; the breakdown does not.
"""

from __future__ import annotations

import argparse
import itertools
import time
import timeit

import numpy as np

from benchmarks import cases, impl_chainrule


def breakdown(key: str, number: int = 2000) -> dict:
    """Microseconds per step of each phase, minimum over 7 repeats.

    Timed in thread CPU time with BLAS limited to one thread, so every cycle is counted on the
    timing thread and other processes' load does not inflate the numbers.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _breakdown(key, number)


def _breakdown(key: str, number: int) -> dict:
    import chainrule as cr
    from chainrule.autograd import engine

    case = cases.MLP_CASES[key]
    params = cases.init_params(case.sizes)
    batches = cases.make_batches(case, n_batches=2)
    step = impl_chainrule.build_mlp_step(case, params, batches)
    model = getattr(step, "model", None)
    if model is None:
        raise SystemExit("the breakdown needs the nn+optim code path")
    from chainrule import nn, optim

    loss_fn = nn.BCEWithLogitsLoss() if case.loss == "bce" else nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.0)  # same cost; weights stay put while timing
    x, y = cr.tensor(batches[0][0]), cr.tensor(batches[0][1])

    def forward():
        return loss_fn(model(x), y)

    def forward_backward():
        forward().backward()

    def forward_topo():
        engine.topological_order(forward()._ctx)

    def forward_op_backwards():
        # every op's own backward, fed by a plain walk: what backward() costs without the engine
        loss = forward()
        order = engine.topological_order(loss._ctx)
        seed = np.ones_like(loss.data)
        grads = {id(order[0]): seed}
        for fn in order:
            for parent, grad in zip(fn.parents, fn.backward(grads.get(id(fn), seed))):
                if parent._ctx is not None and grad is not None:
                    grads[id(parent._ctx)] = grad

    def timed(fn):
        runs = timeit.repeat(fn, number=number, repeat=7, timer=time.thread_time)
        return min(runs) / number * 1e6

    it = itertools.cycle(batches)
    t_total = timed(lambda: step(*next(it)))
    t_forward = timed(forward)
    t_fb = timed(forward_backward)
    t_topo = timed(forward_topo) - t_forward
    t_ops = timed(forward_op_backwards) - t_forward - t_topo
    t_step = timed(opt.step)
    return {
        "step": t_total,
        "forward + loss": t_forward,
        "backward()": t_fb - t_forward,
        "  topological_order": t_topo,
        "  ops' backward methods": t_ops,
        "  engine bookkeeping": t_fb - t_forward - t_topo - t_ops,
        "optimizer.step()": t_step,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("case", choices=sorted(cases.MLP_CASES))
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--no-tree", action="store_true", help="only the breakdown")
    args = parser.parse_args(argv)
    number = 2000 if cases.MLP_CASES[args.case].sizes[0] < 100 else 40
    for name, us in breakdown(args.case, number).items():
        print(f"{name:28s} {us:8.1f} µs")
    if args.no_tree:
        return 0
    from pyinstrument import Profiler

    case = cases.MLP_CASES[args.case]
    batches = cases.make_batches(case, n_batches=8)
    step = impl_chainrule.build_mlp_step(case, cases.init_params(case.sizes), batches)
    it = itertools.cycle(batches)
    for _ in range(200):
        step(*next(it))
    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(args.steps):
        step(*next(it))
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
