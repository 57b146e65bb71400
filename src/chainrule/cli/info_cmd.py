"""``chainrule info``: what a saved model holds: network, training, metrics and columns."""

from __future__ import annotations

from chainrule.cli.common import standardised_note
from chainrule.cli.custom_layers import add_import_argument
from chainrule.cli.output import heading, literal, say, table

HELP = "Describe a saved model: architecture, training, metrics and the columns it reads."
EXAMPLES = "chainrule info model.safetensors"


def add_arguments(parser) -> None:
    parser.add_argument("model", help="a model file saved by chainrule (.safetensors)")
    add_import_argument(parser)


def run(args) -> int:
    from chainrule.cli import custom_layers
    from chainrule.cli.errors import CLIError
    from chainrule.cli.model_cmds import not_a_model
    from chainrule.io.model import read_metadata

    reason = not_a_model(args.model)
    if reason:
        raise CLIError(reason)
    model = custom_layers.load(args.model, args.import_from)  # refuses what loading refuses
    info = read_metadata(args.model, import_from=args.import_from)
    meta = getattr(model, "metadata", None) or {}
    from chainrule.io.schema import check_architecture, check_training_metadata

    check_training_metadata(meta, args.model, need_preprocessing=False)
    check_architecture(info.get("architecture"), args.model)
    heading(f"Model {args.model}")
    table(
        "",
        ["", "value"],
        [
            ["kind", info.get("kind")],
            ["parameters", info.get("parameter_count")],
            ["chainrule version", info.get("chainrule_version")],
            ["numpy version", info.get("numpy_version")],
        ],
    )
    say("architecture:")
    for line in repr(model).splitlines():
        say("  " + literal(line))
    _training(meta, _saved_optimizer(args.model, model))
    _columns(meta)
    return 0


def _saved_optimizer(path: str, model) -> str:
    """What the file keeps of the training optimizer (what 'chainrule explain' can show)."""
    from chainrule.io import optimizer_state

    entry = optimizer_state.read_entry(path)
    if entry is None:
        return "not in the file (explain shows a plain gradient-descent step)"
    if entry.get("state_left_out"):
        return f"{entry['type']}: settings only (its state was too large for the file)"
    optimizer = optimizer_state.build(entry, model, path)
    steps = max((int(s.get("step", 0)) for s in optimizer.state.values()), default=0)
    return f"{entry['type']}, its state after {steps} steps" if steps else entry["type"]


def _training(meta: dict, saved_optimizer: str) -> None:
    training = meta.get("training") or {}
    if not meta.get("task") and not training:
        say("training: (not recorded: this model was not saved by 'chainrule train')")
        return
    optimizer = training.get("optimizer")
    lr = training.get("lr_used", training.get("lr"))
    if lr is None and optimizer:
        lr = 0.1 if optimizer == "sgd" else 0.01  # the defaults of the version that saved it
    classes = meta.get("classes")
    rows = [
        ["task", meta.get("task")],
        ["target", literal(meta.get("target"))],
        ["classes", _short(", ".join(map(literal, classes))) if classes else "-"],
        ["loss", meta.get("loss")],
        ["optimizer", optimizer],
        ["learning rate", lr],
        ["optimizer saved", saved_optimizer],
        ["epochs run", f"{training.get('epochs_run')} of {training.get('epochs_requested', '?')}"],
        ["batch size", training.get("batch_size")],
        ["validation split", training.get("validation_split")],
        ["hidden layers", training.get("layers")],
        ["activation", training.get("activation")],
        ["seed", training.get("seed")],
        ["missing values", "imputed" if training.get("impute") else "refused"],
    ]
    image = _image_input(meta)
    if image:  # a folder of images: no table columns, nothing to impute
        model = training.get("model") or "mlp"
        widths = "conv widths" if model == "cnn" else "hidden layers"
        rows[-4:] = [
            ["model", model],
            [widths, training.get("layers") or "auto"],
            ["activation", training.get("activation")],
            ["seed", training.get("seed")],
            *image,
        ]
    table("training", ["", "value"], [[k, "-" if v is None else v] for k, v in rows])
    metrics = meta.get("metrics") or {}
    if metrics:
        rows = [[k, float(v)] for k, v in metrics.items() if k not in ("lr", "time")]
        table("final metrics", ["metric", "value"], rows)
        if meta.get("task") == "regression":
            scaling = (meta.get("preprocessing") or {}).get("target_scaling") or {}
            say(standardised_note(meta.get("target"), scaling.get("std")))


def _image_input(meta: dict) -> list | None:
    """Rows saying what a model of images reads: ``input`` (``8×8 grayscale images``) and the
    per-channel standardisation, each short enough that the table keeps its columns on an
    80-column terminal (one long row turned the whole table into ``name: value`` blocks)."""
    from chainrule.data.image_preprocessing import ImagePreprocessor, is_image_preprocessing

    state = meta.get("preprocessing")
    if not is_image_preprocessing(state):
        return None
    pre = ImagePreprocessor.from_dict(state)  # checked by check_training_metadata already
    return [
        ["input", f"{pre.describe()} images, per channel (x − mean)/std"],
        ["channel mean", ", ".join(f"{m:.3g}" for m in pre.mean)],
        ["channel std", ", ".join(f"{v:.3g}" for v in pre.std)],
    ]


def _columns(meta: dict) -> None:
    pre = meta.get("preprocessing") or {}
    columns = pre.get("columns") or []
    if not columns:
        return
    mean, std = pre.get("mean") or [], pre.get("std") or []
    rows, k = [], 0
    for col in columns:
        kind = col.get("kind")
        fill = col.get("fill")
        if kind == "categorical":
            categories = col.get("categories") or []
            stats = f"{len(categories)} categories: " + ", ".join(map(literal, categories[:4]))
            stats += ", …" if len(categories) > 4 else ""
            k += len(categories)
        else:
            stats = f"mean {mean[k]:.4g}, std {std[k]:.4g}" if k < len(mean) else ""
            if kind == "boolean":
                stats = "0/1: " + "/".join(map(literal, col.get("categories") or []))
            k += 1
        filled = (
            "-" if fill is None else (f"{fill:.6g}" if isinstance(fill, float) else literal(fill))
        )
        rows.append([literal(col.get("name")), kind, _short(stats, 48), filled])
    table(
        "columns (raw feature columns, in training order)",
        ["column", "role", "statistics", "fills missing"],
        rows,
    )
    scaling = pre.get("target_scaling")
    if scaling:
        say(
            f"target {literal(meta.get('target'))!s}: standardised for training with mean "
            f"{scaling['mean']:.6g} and std {scaling['std']:.6g}; predictions are unscaled"
        )
    left = [
        c
        for c in meta.get("schema") or []
        if c.get("role") not in ("numeric", "categorical", "boolean")
        and c.get("name") != meta.get("target")
    ]
    if left:
        say("left out: " + ", ".join(f"{literal(c['name'])} ({c['role']})" for c in left))


def _short(value, limit: int = 60) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
