"""The compiled tier against its peers on cases (a), (a2), (b), (c), in one process, interleaved.

    python -m benchmarks.bench_compile [--rounds 7] [--steps-scale 1.0] [--cases a,a2,b,c]

Per case and round, each implementation trains from the same weights on the same batches for
a fixed number of steps; the table gives min and median µs per step over the rounds and the
ratio of medians against JAX's jit (higher = faster than JAX). Implementations: eager
chainrule (nn + optim), ``cr.compile_step`` (auto tier, and the NumPy tier alone), hand-written
NumPy, and JAX 0.10.2 ``jax.jit`` of the whole SGD step (skipped when JAX is missing). The
machine may be shared: min and median are both shown, and the numbers are noisy.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks import cases, impl_chainrule, impl_compiled, impl_numpy

STEPS = {"a": 4000, "a2": 4000, "b": 3000, "c": 150}


def _jax_step(case, params):
    """One jitted SGD step of the case (benchmarks.impl_jax: PyTorch's loss formulas)."""
    from benchmarks import impl_jax

    return impl_jax.build_mlp_step(case, params)


def _builders(case, params):
    def compiled(backend):
        def build():
            impl_compiled.BACKEND = backend
            try:
                return impl_compiled.build_mlp_step(case, params)
            finally:
                impl_compiled.BACKEND = "auto"

        return build

    out = {
        "eager": lambda: impl_chainrule.build_mlp_step(case, params),
        "compiled": compiled("auto"),
        "compiled-numpy": compiled("numpy"),
        "numpy": lambda: impl_numpy.build_mlp_step(case, params),
    }
    try:
        import jax  # noqa: F401

        out["jax-jit"] = lambda: _jax_step(case, params)
    except ImportError:
        pass
    return out


def run(case_keys, rounds: int, scale: float) -> dict:
    results = {}
    for key in case_keys:
        case = cases.MLP_CASES[key]
        params = cases.init_params(case.sizes)
        batches = cases.make_batches(case)
        steps = {name: build() for name, build in _builders(case, params).items()}
        n = max(int(STEPS[key] * scale), 10)
        for step in steps.values():  # warm-up: recording, jit compilation, caches
            for x, y in batches[:3] * 2:
                step(x, y)
        times = {name: [] for name in steps}
        for _ in range(rounds):
            for name, step in steps.items():
                start = time.perf_counter()
                for i in range(n):
                    x, y = batches[i % len(batches)]
                    step(x, y)
                times[name].append((time.perf_counter() - start) / n * 1e6)
        results[key] = times
    return results


def report(results: dict) -> str:
    lines = [
        "| case | implementation | min µs/step | median µs/step | JAX median / median |",
        "|---|---|---|---|---|",
    ]
    for key, times in results.items():
        jax_median = statistics.median(times["jax-jit"]) if "jax-jit" in times else None
        for name, values in times.items():
            median = statistics.median(values)
            ratio = f"{jax_median / median:.2f}×" if jax_median else "—"
            lines.append(f"| ({key}) | {name} | {min(values):.1f} | {median:.1f} | {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps-scale", type=float, default=1.0)
    parser.add_argument("--cases", default="a,a2,b,c")
    args = parser.parse_args(argv)
    print(report(run(args.cases.split(","), args.rounds, args.steps_scale)))


if __name__ == "__main__":
    main()
