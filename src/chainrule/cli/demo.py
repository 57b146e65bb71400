"""``chainrule demo``: the seed network, explained step by step, then trained."""

from __future__ import annotations

import os
import time

import numpy as np

from chainrule.cli.common import ACTIVATIONS, positive_float, positive_int
from chainrule.cli.output import heading, say
from chainrule.cli.report_text import show

HELP = (
    "Backpropagation on the seed network (2 inputs -> 1 sigmoid hidden -> 1 sigmoid "
    "output, binary cross-entropy): one example explained step by step, then training."
)
EXAMPLES = """
chainrule demo
chainrule demo --epochs 50 --lr 0.5 --hidden 4 --activation tanh --out runs/demo
chainrule demo --no-plots --no-explain
"""


def add_arguments(parser) -> None:
    parser.add_argument("--epochs", type=positive_int, default=30, help="passes over the data")
    parser.add_argument("--lr", type=positive_float, default=0.5, help="learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling")
    parser.add_argument("--hidden", type=positive_int, default=1, help="hidden neurons")
    parser.add_argument(
        "--activation", choices=ACTIVATIONS, default="sigmoid", help="the hidden activation"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=1,
        help="examples per update (1: update after every example, as the seed)",
    )
    parser.add_argument("--out", default="chainrule-out", help="folder for the PNG plots")
    parser.add_argument("--no-plots", action="store_true", help="do not write PNG files")
    parser.add_argument("--no-explain", action="store_true", help="skip the chain-rule walkthrough")


def run(args) -> int:
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.data import datasets
    from chainrule.explain.format import fmt  # the report's own 9 decimals
    from chainrule.models import mlp

    if not args.no_plots:  # the plots' folder is checked before any work
        from chainrule.cli.paths import output_folder

        output_folder(args.out, flag="--out")
    started = time.perf_counter()
    X, y = datasets.seed_example()
    targets = y.reshape(-1, 1).astype(np.float32)
    cr.manual_seed(args.seed)
    model = mlp(2, [args.hidden], 1, activation=args.activation, output_activation="sigmoid")
    loss_fn = nn.BCELoss()

    heading("The seed network")
    say(
        f"{len(X)} examples with 2 features (x1, x2) and a 0/1 label.\n"
        f"Network: 2 inputs -> {args.hidden} hidden neuron(s) ({args.activation}) -> "
        f"1 output (sigmoid); loss: binary cross-entropy E; learning rate η = {args.lr:g}.\n"
        f"Each neuron computes z = Σ w·a + b (its inputs a, each times its weight w, plus its "
        f"bias b), then its activation a = f(z). Backpropagation finds ∂E/∂w for every weight "
        f"and bias by the chain rule, and gradient descent updates w ← w − η·∂E/∂w."
    )
    print(model)

    if not args.no_explain:
        heading("One training example, every step")
        say(
            f"The example is row 0 of the data: x1 = {fmt(X[0, 0])} and x2 = {fmt(X[0, 1])} "
            f"enter as the inputs i1 and i2, and its label {int(y[0])} is the target t. The "
            f"weights are the network's first, random ones (seed {args.seed})."
        )
        report = cr.explain(model, X[:1], targets[:1], loss_fn, lr=args.lr, names="classic")
        show(report)

    updates = -(-len(X) // args.batch_size)  # ceil: a last, smaller batch is one more update
    epochs = f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}"
    heading(
        f"Training: {epochs} (1 epoch = forward + backward over all {len(X)} examples: "
        f"{updates} weight updates, one per batch of {args.batch_size})"
    )
    optimizer = optim.SGD(model.parameters(), lr=args.lr)
    history = cr.fit(
        model,
        (X, targets),
        loss_fn,
        optimizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        metrics=("accuracy",),
        seed=args.seed,
    )
    losses = history.history["loss"]
    results = cr.evaluate(model, (X, targets), loss_fn, metrics=("accuracy",))

    heading("Result")
    say(f"loss E, the mean over each epoch: first {losses[0]:.6f} -> last {losses[-1]:.6f}")
    say(f"final accuracy: {100 * results['accuracy']:.2f}% on {len(X)} examples")
    if not args.no_plots:
        os.makedirs(args.out, exist_ok=True)
        loss_path = os.path.join(args.out, "loss.png")
        boundary_path = os.path.join(args.out, "decision_boundary.png")
        history.plot(loss_path)
        cr.plot.decision_boundary(model, X, y, boundary_path)
        print(f"loss curve:        {loss_path}")
        print(f"decision boundary: {boundary_path}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0
