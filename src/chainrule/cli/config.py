"""``--config run.toml``: the same options as the command line, read from a file."""

from __future__ import annotations

import sys

from chainrule.cli.errors import CLIError


def load_toml(path: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    from chainrule.io.guard import read_file

    data = read_file(path, CLIError, what="TOML config file", max_bytes=1 << 20, expansion=32.0)
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise CLIError(f"{path}: not valid TOML: not UTF-8 (byte {err.start})") from None
    except tomllib.TOMLDecodeError as err:
        raise CLIError(f"{path}: not valid TOML: {err}") from None
    except RecursionError:
        raise CLIError(f"{path}: not valid TOML: it nests too deeply") from None


def apply_config(subparser_name: str, argv: list[str], path: str):
    """Re-parse ``argv`` with the file's values as defaults, so command-line flags win."""
    from chainrule.cli.main import build_parser

    parser = build_parser()
    values = load_toml(path)
    sub = _subparser(parser, subparser_name)
    known = {a.dest: a for a in sub._actions if a.dest not in ("help", "config")}
    defaults = {}
    for key, value in values.items():
        dest = key.replace("-", "_")
        if dest not in known:
            raise CLIError(
                f"{path}: unknown option {key!r}; known: "
                f"{', '.join(sorted(k.replace('_', '-') for k in known))}"
            )
        action = known[dest]
        if isinstance(value, list):  # features = ["weight, kg", "height"]: one name each
            from chainrule.data.messages import joined_names

            value = joined_names(value)
        if action.type is not None and not isinstance(value, bool):
            try:
                value = action.type(str(value))
            except Exception as err:  # argparse's own type functions raise various errors
                raise CLIError(f"{path}: option {key!r}: {err}") from None
        if action.choices is not None and value not in action.choices:
            raise CLIError(
                f"{path}: option {key!r} must be one of {', '.join(map(str, action.choices))}, "
                f"got {value!r}"
            )
        defaults[dest] = value
    sub.set_defaults(**defaults)
    args = parser.parse_args(argv)
    args.argv = argv
    return args


def _subparser(parser, name):
    for action in parser._actions:
        if getattr(action, "choices", None) and isinstance(action.choices, dict):
            if name in action.choices:
                return action.choices[name]
    raise KeyError(name)
