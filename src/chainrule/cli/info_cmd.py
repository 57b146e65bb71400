"""``chainrule info``: what a saved model file holds, read without building the model."""

from __future__ import annotations

from chainrule.cli.output import heading, table

HELP = "Describe a saved model: architecture, parameters, training and preprocessing."
EXAMPLES = "chainrule info model.safetensors"


def add_arguments(parser) -> None:
    parser.add_argument("model", help="a model file saved by chainrule")


def run(args) -> int:
    from chainrule.io.model import read_metadata

    info = read_metadata(args.model)
    meta = info.get("metadata") or {}
    heading(f"Model {args.model}")
    rows = [
        ["parameters", info.get("parameter_count")],
        ["chainrule version", info.get("chainrule_version")],
        ["numpy version", info.get("numpy_version")],
    ]
    for key in ("task", "target", "loss", "classes", "features"):
        if key in meta:
            rows.append([key, _short(meta[key])])
    table("", ["", "value"], rows)
    print("architecture:")
    print(_architecture_text(info.get("architecture")))
    if meta.get("training"):
        table(
            "training",
            ["option", "value"],
            [[k, _short(v)] for k, v in sorted(meta["training"].items())],
        )
    if meta.get("preprocessing"):
        print("preprocessing:", _short(meta["preprocessing"], 400))
    return 0


def _architecture_text(config, indent: int = 2) -> str:
    if not config:
        return " " * indent + "(none recorded)"
    args = ", ".join(f"{k}={v}" for k, v in (config.get("args") or {}).items())
    lines = [" " * indent + f"{config.get('type')}({args})"]
    for child in config.get("children") or []:
        lines.append(_architecture_text(child, indent + 2))
    return "\n".join(lines)


def _short(value, limit: int = 120) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
