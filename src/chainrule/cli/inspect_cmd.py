"""``chainrule inspect``: the columns of a CSV file as training would see them."""

from __future__ import annotations

from chainrule.cli.output import literal, say

HELP = "Show the schema chainrule infers for a CSV file: each column's type, role and counts."
EXAMPLES = """
chainrule inspect data.csv
chainrule inspect data.csv --target price
chainrule inspect data.csv --target y --drop notes --categorical zip
"""


def add_arguments(parser) -> None:
    from chainrule.cli.train_cmd import add_schema_arguments

    parser.add_argument("csv", help="the CSV file to look at")
    parser.add_argument("--target", help="the column to predict (shows the task inferred)")
    add_schema_arguments(parser)
    parser.add_argument(
        "--task",
        choices=("classification", "regression"),
        help="override the task inferred from --target",
    )


def run(args) -> int:
    import os

    from chainrule.cli.common import column_list
    from chainrule.cli.schema_view import show_notes, show_schema
    from chainrule.data.messages import option
    from chainrule.data.new_rows import column_format_notes
    from chainrule.data.reader import read_columns
    from chainrule.data.schema import infer_schema

    if os.path.isdir(args.csv):  # a folder of images: train reads it, and shows what it read
        from chainrule.cli.errors import CLIError

        raise CLIError(
            f"{args.csv}: is a folder; inspect reads CSV files. For a folder of images, "
            f"chainrule train {args.csv} --dry-run shows the classes, sizes and the network"
        )
    table = read_columns(args.csv, decimal=args.decimal, encoding=args.encoding)
    if args.target and args.target not in table.names:
        from chainrule.cli.errors import CLIError

        raise CLIError(
            f"{args.csv}: no column named {args.target!r} (--target); the columns are: "
            f"{', '.join(table.names)}"
        )
    schema = infer_schema(
        table,
        args.target,
        features=column_list(args.features) if args.features else None,
        drop=column_list(args.drop) if args.drop else None,
        categorical=column_list(args.categorical) if args.categorical else None,
        numeric=column_list(args.numeric) if args.numeric else None,
        task=args.task,
    )
    fmt = table.number_format
    say(
        f"{args.csv}: {len(table)} rows, {len(table.names)} columns; {table.encoding}, "
        f"delimiter {table.delimiter!r}, {fmt.describe()}"
    )
    show_notes(table.notes + column_format_notes(table))
    show_schema(schema, "")
    left = [literal(c.name) for c in schema.left_out]  # a name's line break printed as \n
    usable = [literal(c.name) for c in schema.left_out if c.role not in ("empty", "mixed")]
    if usable:
        used = [literal(c.name) for c in schema.features]
        say(
            f"left out of training: {', '.join(left)}; to use one, list the features with "
            f"{option('features', used + usable[:1])[1]}"
        )
    elif left:  # no values, or words among numbers: --features would refuse them
        say(f"left out of training: {', '.join(left)} (see why)")
    return 0
