"""Recurrent layers' training step: chainrule (one op per layer, as it trains; and op by op, as
``cr.explain`` runs it) against PyTorch (CPU), in one run.

The network is ``nn.RNN``/``nn.LSTM``/``nn.GRU(32 → 64, batch_first=True)`` over 32
sequences × 20 steps, its last step through ``nn.Linear(64, 1)``, mean squared error, plain SGD
(lr 0.01), float32; ``--layers 2 --bidirectional`` stacks and doubles it. Both libraries start
from the same weights (chainrule's, loaded into PyTorch through ``state_dict``); the first
steps' losses are compared before anything is timed.

Timing alternates the implementations within each round (a busy machine slows all alike) and
reports medians and the median of the per-round ratios (PyTorch's time / chainrule's: above 1,
chainrule is faster). Times are the process's CPU time (``time.process_time``): waiting for a
core on a shared machine is not counted; with one thread it equals the time the step computes.

Run: ``python -m benchmarks.bench_recurrent [--rounds 7] [--steps 20] [--threads 1]
[--kinds RNN,LSTM,GRU] [--layers 1] [--bidirectional]``
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import time

import numpy as np

from benchmarks.bench_lenet import limited_threads

BATCH, STEPS, FEATURES, HIDDEN, LR = 32, 20, 32, 64, 0.01


def build(lib, kind: str, layers: int, bidirectional: bool, weights=None):
    """(step function, first loss) of one training setup in ``lib`` (chainrule or torch)."""
    nn = lib.nn
    rnn = getattr(nn, kind)(
        FEATURES, HIDDEN, num_layers=layers, bidirectional=bidirectional, batch_first=True
    )
    head = nn.Linear(HIDDEN * (2 if bidirectional else 1), 1)
    if weights is not None:
        import torch

        rnn.load_state_dict({k: torch.tensor(v) for k, v in weights[0].items()})
        head.load_state_dict({k: torch.tensor(v) for k, v in weights[1].items()})
    params = list(rnn.parameters()) + list(head.parameters())
    optimizer = lib.optim.SGD(params, lr=LR)
    loss_fn = nn.MSELoss()
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((BATCH, STEPS, FEATURES)).astype(np.float32))
    y = lib.tensor(rng.standard_normal((BATCH, 1)).astype(np.float32))

    def step() -> float:
        optimizer.zero_grad()
        out, _ = rnn(x)
        loss = loss_fn(head(out[:, -1]), y)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    if weights is not None:  # PyTorch's: nothing to hand on
        return step, None
    # copies: state_dict()'s entries share the parameters' memory and training moves them
    return step, (copy.deepcopy(rnn.state_dict()), copy.deepcopy(head.state_dict()))


def implementations(kind: str, layers: int, bidirectional: bool) -> dict:
    """name → step function, all from the same weights; checks the first losses agree."""
    import torch

    import chainrule as cr
    from chainrule.nn.recurrent_cells import op_by_op

    cr.manual_seed(0)
    fused, weights = build(cr, kind, layers, bidirectional)
    cr.manual_seed(0)
    stepped, _ = build(cr, kind, layers, bidirectional)
    reference, _ = build(torch, kind, layers, bidirectional, weights)

    def op_by_op_step():
        with op_by_op():
            return stepped()

    losses = {"chainrule": fused(), "op by op": op_by_op_step(), "torch": reference()}
    if max(losses.values()) - min(losses.values()) > 1e-4 * max(1.0, abs(losses["torch"])):
        raise AssertionError(f"{kind}: first losses differ: {losses}")
    return {"chainrule": fused, "op by op": op_by_op_step, "torch": reference}


def time_round(step, count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        step()
    return (time.process_time() - start) / count


def measure(kind: str, rounds: int, steps: int, layers: int, bidirectional: bool) -> dict:
    impls = implementations(kind, layers, bidirectional)
    for step in impls.values():  # warm-up
        time_round(step, 3)
    times: dict = {name: [] for name in impls}
    for _ in range(rounds):
        for name, step in impls.items():
            times[name].append(time_round(step, steps))
    ratios = [t / c for t, c in zip(times["torch"], times["chainrule"])]
    return {
        "ms": {name: 1e3 * statistics.median(v) for name, v in times.items()},
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "fused_gain": statistics.median(
            [s / c for s, c in zip(times["op by op"], times["chainrule"])]
        ),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20, help="training steps per round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--kinds", default="RNN,LSTM,GRU")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--bidirectional", action="store_true")
    args = parser.parse_args(argv)
    shape = f"{args.layers} layer(s){', bidirectional' if args.bidirectional else ''}"
    print(f"{BATCH} sequences × {STEPS} steps, {FEATURES} → {HIDDEN}, {shape}, {args.threads} "
          f"thread(s), median of {args.rounds} rounds × {args.steps} steps")  # fmt: skip
    print("\n| layer | chainrule ms | op by op ms | PyTorch ms | × PyTorch (per round) | "
          "one op vs op by op |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    with limited_threads(args.threads), contextlib.suppress(KeyboardInterrupt):
        for kind in args.kinds.split(","):
            r = measure(kind.strip(), args.rounds, args.steps, args.layers, args.bidirectional)
            ms = r["ms"]
            rounds = " ".join(f"{x:.2f}" for x in r["ratios"])
            print(
                f"| {kind} | {ms['chainrule']:.2f} | {ms['op by op']:.2f} | {ms['torch']:.2f} | "
                f"{r['ratio']:.2f}× ({rounds}) | {r['fused_gain']:.2f}× |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
