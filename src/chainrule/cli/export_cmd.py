"""``chainrule export``: a saved model as an ONNX file, with its training preprocessing."""

from __future__ import annotations

import sys

from chainrule.cli.custom_layers import add_import_argument
from chainrule.cli.export_inputs import example_input, sequence_first_recurrent

SEQUENCE_FIRST_NOTE = (
    "note: a sequence-first recurrent layer (batch_first=False): the graph's free axis "
    "'batch' is its second; the sequence length is fixed to {steps}: add "
    "--dynamic-axis 0=sequence to free it"
)

HELP = "Export a saved model to ONNX (with the preprocessing 'chainrule train' saved in it)."

EXAMPLES = """
chainrule export model.safetensors --onnx model.onnx
chainrule export model.safetensors --onnx model.onnx --opset 13
chainrule export model.safetensors --onnx net.onnx --network-only
chainrule export cnn.safetensors --onnx cnn.onnx --input-shape 1,28,28
chainrule export pets.safetensors --onnx pets.onnx   # a model of images: uint8 pixels in
chainrule export lstm.safetensors --onnx lstm.onnx --input-shape 20,3 --dynamic-axis 1=sequence
"""


def add_arguments(parser) -> None:
    parser.add_argument("model", help="a model file saved by chainrule (cr.save or train)")
    parser.add_argument("--onnx", required=True, metavar="PATH", help="the ONNX file to write")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    parser.add_argument(
        "--input-shape",
        action="append",
        metavar="DIMS",
        help="shape of one input sample, e.g. 1,28,28 (default: from the first layer); the "
        "batch axis is added first, or second for a sequence-first Transformer layer; repeat "
        "it for a model of several inputs (Bilinear, Transformer), in its forward's order",
    )
    parser.add_argument(
        "--dynamic-axis",
        action="append",
        metavar="AXIS=NAME",
        help="leave this input axis free in the graph under NAME, e.g. 1=sequence for a "
        "batch-first recurrent model (axis 0, the batch, is free already); repeatable",
    )
    parser.add_argument(
        "--network-only",
        action="store_true",
        help="export the network alone (inputs: standardised, one-hot encoded features; for a "
        "model of images: standardised float N×C×H×W pixels)",
    )
    add_import_argument(parser)


def _dynamic_axes(values: list | None) -> dict | None:
    """``--dynamic-axis 1=sequence ...`` as export's ``dynamic_axes`` for the input."""
    from chainrule.cli.errors import CLIError

    if not values:
        return None
    axes = {}
    for value in values:
        axis, _, name = value.partition("=")
        if not axis.strip().isdigit() or not name.strip():
            raise CLIError(
                f"--dynamic-axis {value!r}: expected AXIS=NAME with AXIS a whole number, e.g. "
                f"1=sequence"
            )
        axes[int(axis)] = name.strip()
    return {"input": axes}


def _image_shape(meta: dict, args) -> str | None:
    """``C,H,W`` of a model trained on a folder of images (``--input-shape`` wins)."""
    from chainrule.data.image_preprocessing import ImagePreprocessor, is_image_preprocessing

    state = meta.get("preprocessing")
    if not is_image_preprocessing(state):
        return None
    if args.input_shape:
        return args.input_shape[-1]
    pre = ImagePreprocessor.from_dict(state)
    return f"{pre.channels},{pre.size[0]},{pre.size[1]}"


def _image_input_text(proto) -> str:
    """What the graph of a model of images takes, for the one line ``export`` prints."""
    props = {p.key: p.value for p in proto.metadata_props}
    h, w = (int(v) for v in props["chainrule.image.size"].strip("[]").split(","))
    channels = 1 if props["chainrule.image.mode"] == "L" else 3
    return (
        f"model with its pixel standardisation (input 'image': uint8 pixels 0-255, "
        f"N×H×W×C = N×{h}×{w}×{channels}, already resized to {h}×{w} as 'chainrule predict' "
        f"does)"
    )


def run(args) -> int:
    from chainrule.cli import custom_layers
    from chainrule.cli.errors import CLIError
    from chainrule.cli.paths import make_parent, output_file

    # Checked before any work: never the model being exported, never a folder.
    args.onnx = output_file(args.onnx, flag="--onnx", inputs=(args.model,))
    try:
        from chainrule import onnx as cr_onnx
        from chainrule.onnx._graph import require_onnx

        require_onnx()
    except ImportError as err:
        raise CLIError(str(err)) from None
    model = custom_layers.load(args.model, args.import_from)
    make_parent(args.onnx)
    meta = getattr(model, "metadata", None) or {}
    image = _image_shape(meta, args)
    dynamic_axes = _dynamic_axes(args.dynamic_axis)
    if dynamic_axes and not args.network_only and (image or "preprocessing" in meta):
        raise CLIError(
            "--dynamic-axis: this model exports with its preprocessing, whose input is a batch "
            "of samples; use --network-only to export the bare network with free axes"
        )
    try:
        if image and args.network_only:  # the bare CNN: standardised NCHW float input
            example = example_input(model, "", [image])
            proto = cr_onnx.export(model, args.onnx, example, args.opset, dynamic_axes=dynamic_axes)
            what = "network (it takes images resized and standardised as 'chainrule info' shows)"
        elif image:  # pixels in: the standardisation is in the graph, the resize is not
            from chainrule.onnx.image_pipeline import export_image_pipeline

            if args.input_shape:
                raise CLIError(
                    "--input-shape: this model of images takes pixels of its training size "
                    "('chainrule info' shows it); the flag is for --network-only"
                )

            proto = export_image_pipeline(model, args.onnx, meta, opset=args.opset)
            what = _image_input_text(proto)
        elif "preprocessing" in meta and not args.network_only:
            from chainrule.onnx.pipeline import export_pipeline

            proto = export_pipeline(model, args.onnx, meta, opset=args.opset)
            what = "model with its preprocessing"
        else:
            example = example_input(model, args.model, args.input_shape)
            proto = cr_onnx.export(model, args.onnx, example, args.opset, dynamic_axes=dynamic_axes)
            what = "network"
            sequence_freed = dynamic_axes and 0 in dynamic_axes["input"]
            if args.input_shape and sequence_first_recurrent(model) and not sequence_freed:
                print(SEQUENCE_FIRST_NOTE.format(steps=example.shape[0]), file=sys.stderr)
    except cr_onnx.ExportError as err:
        raise CLIError(f"{args.model}: {err}") from None
    inputs, outputs = _listed(proto.graph.input), _listed(proto.graph.output)
    print(
        f"{what} written to {args.onnx} (opset {args.opset}; inputs: {inputs}; outputs: {outputs})"
    )
    return 0


def _listed(values, limit: int = 10) -> str:
    """The graph's input or output names, the first ``limit`` of them: a model of 2,000
    columns printed 2,000 names on one line."""
    from chainrule.cli.output import literal

    names = [literal(v.name) for v in values]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... and {len(names) - limit} more ({len(names)} in all)"
