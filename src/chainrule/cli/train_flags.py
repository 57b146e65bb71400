"""The flags of ``chainrule train`` (``inspect`` shares the schema ones), grouped as its
--help lists them."""

from __future__ import annotations

from chainrule.cli.common import (
    ACTIVATIONS,
    LOSSES,
    OPTIMIZERS,
    add_encoding_argument,
    fraction,
    positive_float,
    positive_int,
)


def add_arguments(parser) -> None:
    """The flags of ``chainrule train``, in the order its --help lists them."""
    parser.add_argument(
        "csv",
        nargs="?",
        metavar="DATA",
        help="CSV file with a header row, or a folder of images with one subfolder per class "
        "(or use --dataset)",
    )
    add_data_arguments(parser.add_argument_group("data"))
    add_image_arguments(parser.add_argument_group("images (when DATA is a folder)"))
    # Model and training flags share one --help heading.
    model_and_training = parser.add_argument_group("model and training")
    add_model_arguments(model_and_training)
    add_training_arguments(model_and_training)
    add_output_arguments(parser.add_argument_group("output"))


def add_data_arguments(data) -> None:
    """Where the rows come from and how the columns are read."""
    data.add_argument("--target", help="name of the column to predict")
    add_schema_arguments(data)
    data.add_argument(
        "--task",
        choices=("classification", "regression"),
        help="override the task inferred from the target (see 'chainrule inspect')",
    )
    data.add_argument("--dataset", help="a built-in dataset instead of a CSV (e.g. moons)")
    data.add_argument(
        "--impute",
        choices=("mean",),
        help="fill missing cells (numbers: the mean, categories: the most frequent), "
        "at training and prediction",
    )
    add_drop_missing_target_argument(data)
    data.add_argument("--config", help="TOML file with the same options (flags override it)")
    data.add_argument(
        "--dry-run",
        action="store_true",
        help="show the inferred schema and the network, then stop (nothing is written)",
    )


def add_drop_missing_target_argument(group) -> None:
    """``--drop-missing-target``: train and evaluate share it."""
    group.add_argument(
        "--drop-missing-target",
        action="store_true",
        help="leave out the rows without a target value (a note names their lines) instead "
        "of stopping with an error",
    )


def add_image_arguments(images) -> None:
    """How a folder of images is read (docs/cnn.md)."""
    images.add_argument(
        "--image-size",
        metavar="H[,W]",
        help="resize every image to this size, H,W or one number (default: the size most "
        "images have, shrunk to at most 64 pixels a side, keeping its shape)",
    )
    images.add_argument(
        "--image-mode",
        choices=("gray", "rgb"),
        help="read the images as gray (1 channel) or rgb (3) (default: rgb if any has colour)",
    )
    images.add_argument(
        "--skip-bad-images",
        action="store_true",
        help="leave out files that cannot be read as images (with a note) instead of stopping",
    )


def add_model_arguments(model) -> None:
    """The network's shape and the loss it is trained on."""
    model.add_argument(
        "--layers",
        default=None,
        help="hidden layer sizes, e.g. 64,32 (default 32); with --model cnn on a folder of "
        "images, the channels of each convolution block (default: 16,32, more for large images)",
    )
    model.add_argument(
        "--activation", choices=ACTIVATIONS, default="relu", help="hidden activation"
    )
    model.add_argument(
        "--model",
        choices=("mlp", "cnn"),
        default=None,
        help="cnn: a small convolutional network (the default for a folder of images; for a "
        "CSV, square images given as rows); mlp: the default for a CSV (docs/cnn.md)",
    )
    model.add_argument(
        "--loss",
        choices=("auto", *LOSSES),
        default="auto",
        help="auto: bce for two classes, ce for more, mse for regression",
    )


def add_training_arguments(training) -> None:
    """How the weights are fitted: optimizer, step size, batches, epochs, split, seed."""
    training.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default="adam",
        help="the optimizer (sgd: momentum 0.9)",
    )
    training.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help="learning rate (default: 0.1 for sgd, 0.01 for the others)",
    )
    training.add_argument("--batch-size", type=positive_int, default=32, help="examples per step")
    training.add_argument("--epochs", type=positive_int, default=50, help="passes over the data")
    training.add_argument(
        "--validation-split",
        type=fraction,
        default=0.2,
        help="share of rows held out to validate",
    )
    training.add_argument(
        "--early-stopping",
        type=positive_int,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation loss",
    )
    training.add_argument("--seed", type=int, default=0, help="seed for weights, split, shuffling")
    training.add_argument(
        "--compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="compiled training steps; auto: when the run allows them (docs/compile.md)",
    )


def add_output_arguments(out) -> None:
    """What is written: the model file, plots, report, checkpoints, diagnosis."""
    out.add_argument(
        "--out",
        default="model.safetensors",
        help="where to save the model (a path ending in / is a folder)",
    )
    out.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out if it exists (--resume implies it), and an earlier run's checkpoint "
        "in --checkpoint-dir",
    )
    out.add_argument("--plots", default=None, help="folder for plots (default: beside --out)")
    out.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    out.add_argument("--report", help="write a self-contained HTML report of the run here")
    out.add_argument("--checkpoint-dir", help="save a resumable checkpoint after every epoch")
    out.add_argument(
        "--no-diagnose",
        action="store_true",
        help="skip the training diagnosis (docs/diagnose.md); divergence still exits 3",
    )
    out.add_argument(
        "--resume",
        action="store_true",
        help="continue from --checkpoint-dir (starts fresh, with a notice, if it holds none)",
    )


def add_schema_arguments(group) -> None:
    """The flags that choose columns and how to read them (train and inspect share them)."""
    group.add_argument(
        "--features",
        help="comma-separated feature columns, used whatever their role "
        "(default: every numeric, categorical and boolean column)",
    )
    group.add_argument("--drop", help="comma-separated columns to leave out")
    group.add_argument("--categorical", help="comma-separated columns to read as categories")
    group.add_argument("--numeric", help="comma-separated columns to read as numbers")
    group.add_argument(
        "--decimal",
        choices=(".", ","),
        help="the decimal mark (default: detected; ',' only in files not separated by ',')",
    )
    add_encoding_argument(group)
    group.add_argument(
        "--label-case",
        choices=("fold", "keep"),
        help="class labels that differ only in case (Yes, yes): one class (fold) or separate "
        "classes (keep); without it they are an error",
    )
