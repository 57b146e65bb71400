"""Fit time of chainrule.sklearn.MLPClassifier against sklearn.neural_network.MLPClassifier.

Both estimators get the same settings (hidden layers, Adam, batch size, alpha, epochs, the same
random_state and so the same initial weights); ``tol=0`` with ``n_iter_no_change=max_iter``
makes both run exactly ``max_iter`` epochs, so the times compare the same work. The two are
timed alternately in one process, ``--rounds`` times each, and the minimum of each is kept;
BLAS runs on one thread (threadpoolctl) so that a shared machine disturbs both alike. The
ratio is scikit-learn's time ÷ chainrule's (above 1: chainrule is faster). Test accuracy is
that of the timed runs (a stratified quarter of each dataset, standardised).

    PYTHONPATH=src python benchmarks/sklearn_compare.py            # the full table
    PYTHONPATH=src python benchmarks/sklearn_compare.py --quick    # 1 round, fewer epochs
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np

DATASETS = ("iris", "wine", "breast_cancer", "digits")
SETTINGS = (  # (label, hidden_layer_sizes, batch_size)
    ("(100,), batch auto", (100,), "auto"),
    ("(32,), batch 32", (32,), 32),
)


def load(name: str):
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def time_fit(cls, params, data) -> tuple[float, float]:
    X_train, X_test, y_train, y_test = data
    start = time.perf_counter()
    clf = cls(**params).fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    return elapsed, clf.score(X_test, y_test)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="1 round of 20 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.epochs = 1, 20

    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP
    from threadpoolctl import threadpool_limits

    import chainrule
    from chainrule.sklearn import MLPClassifier as CrMLP

    warnings.simplefilter("ignore", ConvergenceWarning)
    print(
        f"chainrule {chainrule.__version__}, scikit-learn {sklearn.__version__}, "
        f"NumPy {np.__version__}, Python {platform.python_version()}; {args.rounds} rounds, "
        f"{args.epochs} epochs, Adam, BLAS on 1 thread\n"
    )
    print("| dataset | network, batch | sklearn fit (s) | chainrule fit (s) | ratio "
          "| accuracy sklearn / chainrule |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    with threadpool_limits(limits=1):
        for name in DATASETS:
            data = load(name)
            for label, hidden, batch in SETTINGS:
                params = dict(
                    hidden_layer_sizes=hidden,
                    batch_size=batch,
                    max_iter=args.epochs,
                    tol=0.0,
                    n_iter_no_change=args.epochs,
                    random_state=0,
                )
                times = {SkMLP: [], CrMLP: []}
                scores = {}
                for _ in range(args.rounds):
                    for cls in (SkMLP, CrMLP):  # alternate, so drift hits both
                        elapsed, scores[cls] = time_fit(cls, params, data)
                        times[cls].append(elapsed)
                sk, cr = min(times[SkMLP]), min(times[CrMLP])
                print(
                    f"| {name} | {label} | {sk:.3f} | {cr:.3f} | {sk / cr:.2f} "
                    f"| {scores[SkMLP]:.3f} / {scores[CrMLP]:.3f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
