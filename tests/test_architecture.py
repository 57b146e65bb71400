"""The structure stays as docs/architecture.md describes it: no import circles outside the
tensor <-> ops core, no file over 600 lines, no function over 80 lines without a reason."""

import ast
import pathlib
from collections import defaultdict

import chainrule

ROOT = pathlib.Path(chainrule.__file__).parent
CORE = {
    "chainrule.tensor",
    "chainrule.tensor_methods",
    "chainrule.tensor_methods_extra",  # more of the methods: a mixin of tensor_methods
    "chainrule.tensor_reductions",  # the reductions as methods: a mixin of Tensor
    "chainrule.creation",
}


def _modules() -> dict:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


def _imports(name: str, path: pathlib.Path, mods: dict) -> set:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            targets = [t for t in subs if t in mods] or [node.module or ""]
        else:
            continue
        for target in targets:
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _cycles(edges: dict) -> list:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in list(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(set(component))
    return out


def test_no_import_circle_outside_the_tensor_ops_core():
    mods = _modules()
    edges = defaultdict(set)
    for name, path in mods.items():
        edges[name] |= _imports(name, path, mods)
    for component in _cycles(edges):
        outside = {
            m
            for m in component
            if m not in CORE
            and not m.startswith("chainrule.ops")
            and m != "chainrule.autograd.function"
        }
        assert not outside, f"import circle outside the core: {sorted(component)}"


def test_no_file_over_600_lines_and_no_long_function_without_a_reason():
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > 600:
            problems.append(f"{path.relative_to(ROOT)}: {source.count(chr(10))} lines")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                first_body_line = node.body[0].lineno - 1
                head = "\n".join(lines[node.lineno - 1 : first_body_line + 1])
                if length > 80 and "#" not in head:
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {length}")
    assert problems == []
