"""Turn the suite's results into Markdown tables and the scaling plot."""

from __future__ import annotations

from pathlib import Path

from benchmarks import cases

# Targets of issue 16 (chainrule ÷ PyTorch throughput, chainrule ÷ hand-written NumPy): eager
# (a), (b) at least 4x PyTorch, (c), (d) at least level with both; the tiny networks keep
# issue 7's floor against NumPy. The compiled step of (a), (b) at least 1.5x JAX's jit.
TARGETS = {
    "a": (4.0, 0.75),
    "a2": (4.0, 0.75),
    "b": (4.0, 0.75),
    "c": (1.0, 1.0),
    "d": (1.0, 1.0),
}
COMPILED_VS_JAX = 1.5
COMPILED_VS_JAX_CASES = ("a", "a2", "b")  # (c), (d) show the compiled step's ratio, no target
DIGITS_VS_TORCH = 0.35  # fit time, chainrule ÷ PyTorch
PER_OP_VS_TORCH = 0.4  # overhead with backward, chainrule ÷ PyTorch


def _fmt(value, spec=".2f", none="—"):
    return none if value is None else format(value, spec)


def _met(value, target, higher_is_better=True):
    if value is None or target is None:
        return "—"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "**not met**"


def _rounds(values):
    return " ".join(f"{v:.2f}" for v in values) if values else "—"


def _machine_lines(results) -> list[str]:
    m = results["machine"]
    blas = _first_blas(results)
    lines = [
        f"- date: {m['date_utc']}; suite time {m.get('suite_s', 0):.0f} s; "
        f"{results['settings']['rounds']} round(s)"
        + (" (quick)" if results["settings"]["quick"] else ""),
        f"- machine: {m['cpu']}, {m['nproc']} logical CPUs, {m['platform']}; load average "
        f"before {_load(m.get('load_before'))}, after {_load(m.get('load_after'))}",
        f"- lscpu model name: {m.get('lscpu_model') or '?'}; OpenBLAS core type (the kernel it "
        f"chose): {m.get('openblas_core') or '?'}",
        f"- versions: Python {m['python']}, NumPy {m['numpy']}, chainrule {m['chainrule']}, "
        f"PyTorch {m['torch']}, scikit-learn {m['sklearn']}, JAX {m.get('jax') or '—'}",
    ]
    for impl, note in results.get("skipped", {}).items():
        lines.append(f"- skipped {impl}: {note}")
    if blas:
        lines.append(
            f"- BLAS (NumPy): {blas.get('internal_api')} {blas.get('version')}, kernel "
            f"{blas.get('architecture')}, {blas.get('num_threads')} threads "
            f"({blas.get('library')}); PyTorch threads set to the same count"
        )
    lines.append(
        f"- OPENBLAS_* in the environment: {m['openblas_env'] or 'none'}; in the benchmark "
        f"processes: {m['openblas_env_in_workers'] or 'none'}"
    )
    if m.get("mkl_route"):
        lines.append(f"- chainrule's MKL route for large matrix products: {m['mkl_route']}")
    api = _chainrule_api(results)
    if api:
        lines.append(f"- chainrule code path: {api}")
    where = _first(results, "chainrule", "chainrule_file")
    if where:
        lines.append(f"- chainrule measured from: `{where}`")
    return lines


def _load(load):
    return "?" if not load else "/".join(f"{x:.2f}" for x in load)


def _first_blas(results):
    for by_impl in results["raw"].values():
        for run in by_impl.get("numpy", []):
            if run.get("blas"):
                return run["blas"][0]
    return None


def _first(results, impl, key):
    for by_impl in results["raw"].values():
        for run in by_impl.get(impl, []):
            if run.get(key):
                return run[key]
    return None


def _chainrule_api(results):
    for by_impl in results["raw"].values():
        for run in by_impl.get("chainrule", []):
            if run.get("api"):
                return run["api"]
    return None


def render_markdown(results) -> str:
    summary = results["summary"]
    out = ["## Results", "", *_machine_lines(results), ""]
    mlp = [k for k in cases.MLP_CASES if k in summary]
    if mlp:
        out += [
            "Training steps (median time per step; ratios are chainrule's throughput divided "
            "by the other's, per round, median over rounds — higher is better for chainrule; "
            "JAX is one `jax.jit`-compiled step):",
            "",
            "| case | network | chainrule | PyTorch | NumPy | JAX jit | ÷ PyTorch (target) | "
            "÷ NumPy (target) | ÷ JAX | per-round ÷ PyTorch | per-round ÷ NumPy |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for key in mlp:
            out += _mlp_rows(summary[key], key)
        out.append("")
    if "lenet" in summary:  # benchmarks/bench_lenet.py; the target is a step ≤ 1.5× PyTorch's
        s = summary["lenet"]
        out += [
            f"LeNet-5 step (batch 64, 1×28×28, SGD): chainrule {_us(s, 'chainrule')}, PyTorch "
            f"{_us(s, 'torch')}, JAX jit {_us(s, 'jax')}; throughput ÷ PyTorch "
            f"{_fmt(s['vs_torch'])}× (≥ 0.67, {_met(s['vs_torch'], 0.67)}), per round "
            f"{_rounds(s['vs_torch_rounds'])}; ÷ JAX {_fmt(s.get('vs_jax'))}×.",
            "",
        ]
    mem = [k for k in ("c", "d") if k in summary]
    if mem:
        out += [
            "Peak resident memory (MiB) of the processes that timed (c) and (d): the whole "
            "process, and the growth above the resident size after imports and data; and the "
            "minor page faults per step in steady state (chainrule / PyTorch / NumPy / JAX):",
            "",
            "| case | chainrule peak | PyTorch peak | NumPy peak | chainrule growth | "
            "PyTorch growth | NumPy growth | target (peak ≤ PyTorch) | page faults per step |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for key in mem:
            s = summary[key]
            peak = {i: s.get(i, {}).get("peak_rss_mb") for i in ("chainrule", "torch", "numpy")}
            grow = {
                i: _sub(s.get(i, {}).get("peak_rss_mb"), s.get(i, {}).get("rss_start_mb"))
                for i in ("chainrule", "torch", "numpy")
            }
            ok = (
                _met(peak["torch"], peak["chainrule"])
                if peak["torch"] and peak["chainrule"]
                else "—"
            )
            faults = " / ".join(
                _fmt(s.get(i, {}).get("page_faults_per_step"), ".0f")
                for i in ("chainrule", "torch", "numpy", "jax")
            )
            out.append(
                f"| ({key}) | {_fmt(peak['chainrule'], '.0f')} | {_fmt(peak['torch'], '.0f')} | "
                f"{_fmt(peak['numpy'], '.0f')} | {_fmt(grow['chainrule'], '.0f')} | "
                f"{_fmt(grow['torch'], '.0f')} | {_fmt(grow['numpy'], '.0f')} | {ok} | {faults} |"
            )
        out.append("")
    if "f" in summary:
        s = summary["f"]
        out += [
            f"Per-op cost (f): a chain of {cases.PER_OP_CHAIN} multiplications of a float32 "
            f"vector of {cases.PER_OP_SIZE}, µs per op. Overhead = time minus hand-written "
            "NumPy's time for the same arithmetic:",
            "",
            "| | forward, no graph | forward, recording | forward + backward | overhead "
            "no graph | overhead recording | overhead with backward |",
            "|---|---|---|---|---|---|---|",
        ]
        for impl in ("chainrule", "compiled", "torch", "numpy"):
            if impl not in s:
                continue
            r = s[impl]
            label = "chainrule, `cr.compile`" if impl == "compiled" else impl
            out.append(
                f"| {label} | {_fmt(r['forward'])} | {_fmt(r['forward_graph'])} | "
                f"{_fmt(r['forward_backward'])} | {_fmt(r.get('overhead_forward'))} | "
                f"{_fmt(r.get('overhead_graph'))} | {_fmt(r.get('overhead_backward'))} |"
            )
        torch_o = s.get("torch", {}).get("overhead_backward")
        for impl, who in (("chainrule", "chainrule's"), ("compiled", "`cr.compile`'s")):
            mine = s.get(impl, {}).get("overhead_backward")
            if mine is not None and torch_o:
                ratio = mine / torch_o
                out += [
                    "",
                    f"{who} overhead with backward is {ratio:.2f} of PyTorch's "
                    f"(target ≤ {PER_OP_VS_TORCH}: "
                    f"{_met(ratio, PER_OP_VS_TORCH, higher_is_better=False)}).",
                ]
        out.append("")
    if "e" in summary:
        s = summary["e"]
        out += [
            "Digits job (e): 64 → 64 ReLU → 10, Adam lr 1e-3, batch 200 — fit time (median "
            "over rounds) and test accuracy:",
            "",
            "| | fit time (s) | test accuracy | epochs | data |",
            "|---|---|---|---|---|",
        ]
        for impl in ("chainrule", "torch", "sklearn", "jax"):
            if impl in s:
                r = s[impl]
                out.append(
                    f"| {impl} | {_fmt(r['fit_s'], '.3f')} | {_fmt(r['accuracy'], '.4f')} | "
                    f"{r['epochs']} | {r['source']} |"
                )
        ratio = s.get("time_vs_torch")
        acc_cr = s.get("chainrule", {}).get("accuracy")
        acc_torch = s.get("torch", {}).get("accuracy")
        acc_ok = (
            "—"
            if acc_cr is None or acc_torch is None
            else ("met" if abs(acc_cr - acc_torch) <= 0.01 else "**not met**")
        )
        out += [
            "",
            f"chainrule's fit time is {_fmt(ratio)}× PyTorch's (per round: "
            f"{_rounds(s.get('time_vs_torch_rounds'))}; target ≤ {DIGITS_VS_TORCH}: "
            f"{_met(ratio, DIGITS_VS_TORCH, higher_is_better=False)}), "
            f"{_fmt(s.get('time_vs_sklearn'))}× "
            f"scikit-learn's and {_fmt(s.get('time_vs_jax'))}× JAX's (its step compiled before "
            f"the clock starts); accuracy within 1 point of PyTorch: {acc_ok}.",
            "",
        ]
    if summary.get("losses"):
        from benchmarks.bench_losses import render

        out += [
            "Each loss and activation alone (`benchmarks/bench_losses.py`): forward + backward "
            "of a leaf that requires grad, µs, median over rounds; ÷ PyTorch is PyTorch's time "
            "÷ chainrule's (above 1: chainrule faster). Losses on (1, 1) and (128, 1) inputs, "
            "or (1, 10) and (128, 10) for the class losses; activations on 1×16 and 128×256:",
            "",
            render(summary["losses"]),
            "",
        ]
    if "scaling" in summary:
        s = summary["scaling"]
        out += [
            "Scaling of (c), ms per step (chainrule / PyTorch / NumPy, ÷ = PyTorch ÷ chainrule):",
            "",
        ]
        for axis, label in (
            ("batch", "batch (width 256)"),
            ("width", "width w: 784 → w → w/2 → 10, batch 128"),
        ):
            points = list(s.get("chainrule", {}).get(axis, {}))
            if not points:
                continue
            out += [f"| {label} | " + " | ".join(points) + " |", "|---" * (len(points) + 1) + "|"]
            for impl in ("chainrule", "torch", "numpy"):
                row = s.get(impl, {}).get(axis, {})
                out.append(
                    f"| {impl} | " + " | ".join(_fmt(_ms(row.get(p)), ".3g") for p in points) + " |"
                )
            ratios = [
                _div(s.get("torch", {}).get(axis, {}).get(p), s["chainrule"][axis][p])
                for p in points
            ]
            out.append("| ÷ PyTorch | " + " | ".join(_fmt(r) for r in ratios) + " |")
            out.append("")
        if results.get("plot"):
            out += [f"Plot: `{results['plot']}`", ""]
    return "\n".join(out)


def _mlp_rows(s, key) -> list[str]:
    """The table rows of one MLP case: chainrule eager, and ``cr.compile`` when it ran."""
    case = cases.MLP_CASES[key]
    t_torch, t_numpy = TARGETS[key]
    peers = f"{_us(s, 'torch')} | {_us(s, 'numpy')} | {_us(s, 'jax')}"
    rows = []
    for label, impl, prefix in (
        (f"({key}) {case.title} | {case.description}", "chainrule", "vs"),
        (f"({key}) with `cr.compile` | same", "compiled", "compiled_vs"),
    ):
        vs_torch, vs_numpy = s.get(f"{prefix}_torch"), s.get(f"{prefix}_numpy")
        if impl == "compiled" and vs_torch is None:
            continue
        vs_jax = s.get(f"{prefix}_jax")
        jax = f"{_fmt(vs_jax)}×"
        if impl == "compiled" and vs_jax is not None and key in COMPILED_VS_JAX_CASES:
            jax += f" (≥ {COMPILED_VS_JAX}, {_met(vs_jax, COMPILED_VS_JAX)})"
        rows.append(
            f"| {label} | {_us(s, impl)} | {peers} | "
            f"{_fmt(vs_torch)}× (≥ {t_torch}, {_met(vs_torch, t_torch)}) | "
            f"{_fmt(vs_numpy)} (≥ {t_numpy}, {_met(vs_numpy, t_numpy)}) | "
            f"{jax} | {_rounds(s.get(f'{prefix}_torch_rounds'))} | "
            f"{_rounds(s.get(f'{prefix}_numpy_rounds'))} |"
        )
    return rows


def _us(summary, impl):
    step = summary.get(impl, {}).get("step_s")
    if step is None:
        return "—"
    return f"{step * 1e6:.1f} µs" if step < 1e-3 else f"{step * 1e3:.2f} ms"


def _ms(seconds):
    return None if seconds is None else seconds * 1e3


def _sub(a, b):
    return None if a is None or b is None else a - b


def _div(a, b):
    return None if a is None or not b else a / b


def plot_scaling(scaling: dict, path) -> None:
    """Two panels, batch and width: step time of each implementation (log-log) and the ratio."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex="col", height_ratios=(2, 1))
    styles = {"chainrule": ("C0", "o-"), "torch": ("C1", "s-"), "numpy": ("C2", "^--")}
    for col, (axis, xlabel) in enumerate(
        (
            ("batch", "batch size (784 → 256 → 128 → 10)"),
            ("width", "width w (784 → w → w/2 → 10, batch 128)"),
        )
    ):
        top, bottom = axes[0][col], axes[1][col]
        for impl, (color, style) in styles.items():
            row = scaling.get(impl, {}).get(axis, {})
            if row:
                xs = [int(p) for p in row]
                top.plot(xs, [row[p] * 1e3 for p in row], style, color=color, label=impl)
        top.set_xscale("log", base=2)
        top.set_yscale("log")
        top.set_ylabel("ms per SGD step")
        top.grid(True, which="both", alpha=0.3)
        top.legend()
        cr = scaling.get("chainrule", {}).get(axis, {})
        for impl, (color, style) in styles.items():
            if impl == "chainrule":
                continue
            row = scaling.get(impl, {}).get(axis, {})
            pts = [p for p in cr if p in row and cr[p]]
            if pts:
                bottom.plot(
                    [int(p) for p in pts],
                    [row[p] / cr[p] for p in pts],
                    style,
                    color=color,
                    label=f"{impl} time ÷ chainrule time",
                )
        bottom.axhline(1.0, color="gray", lw=1)
        bottom.set_xscale("log", base=2)
        bottom.set_xlabel(xlabel)
        bottom.set_ylabel("ratio (> 1: chainrule faster)")
        bottom.grid(True, which="both", alpha=0.3)
        bottom.legend(fontsize=8)
    fig.suptitle("Case (c) scaling: chainrule vs PyTorch (CPU) vs hand-written NumPy")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
