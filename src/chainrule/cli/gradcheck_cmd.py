"""``chainrule gradcheck``: every built-in op's gradient against finite differences."""

from __future__ import annotations

from chainrule.cli.errors import EXIT_FAILED_CHECK, CLIError
from chainrule.cli.output import table

HELP = "Check every built-in op's gradient against finite differences."
EXAMPLES = """
chainrule gradcheck
chainrule gradcheck --ops sigmoid,matmul
"""


def add_arguments(parser) -> None:
    parser.add_argument("--ops", help="comma-separated op names (default: all)")


ABS_TOLERANCE = 1e-6
REL_TOLERANCE = 1e-5


def run(args) -> int:
    from chainrule.testing.catalog import builtin_checks
    from chainrule.testing.gradcheck import gradient_errors

    checks = builtin_checks()
    if args.ops:
        wanted = [name.strip() for name in args.ops.split(",") if name.strip()]
        known = {c.name for c in checks}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise CLIError(f"unknown op(s) {unknown}; known: {', '.join(sorted(known))}")
        checks = [c for c in checks if c.name in wanted]
    rows, failures = [], 0
    for check in checks:
        max_abs, max_rel = gradient_errors(check.fn, *check.inputs())
        ok = max_abs <= ABS_TOLERANCE or max_rel <= REL_TOLERANCE
        failures += not ok
        rows.append([check.name, f"{max_abs:.2e}", f"{max_rel:.2e}", "pass" if ok else "FAIL"])
    table(
        "Gradients vs float64 central differences (eps = 1e-6)",
        ["op", "max abs error", "max rel error", "result"],
        rows,
    )
    print(f"{len(rows) - failures} ops passed, {failures} failed")
    return EXIT_FAILED_CHECK if failures else 0
