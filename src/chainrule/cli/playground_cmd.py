"""``chainrule playground``: serve the live backpropagation page on this computer."""

from __future__ import annotations

from chainrule.cli.common import nonnegative_int
from chainrule.cli.errors import CLIError

HELP = (
    "Watch backpropagation live: a local web page that trains a small network on the "
    "chainrule engine."
)
EXAMPLES = """
chainrule playground
chainrule playground --port 8000 --open
"""


def add_arguments(parser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (this computer only)"
    )
    parser.add_argument(
        "--port", type=nonnegative_int, default=0, help="port (0: a free one, printed)"
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")


def run_playground(args) -> int:
    """Start the server (loopback unless ``--host`` says otherwise) and serve until Ctrl+C."""
    host = getattr(args, "host", None) or "127.0.0.1"
    port = int(getattr(args, "port", 0) or 0)
    if not 0 <= port <= 65535:
        raise CLIError(f"--port must be between 0 and 65535, got {port}")
    try:
        from chainrule.playground.server import serve
    except ImportError as err:
        raise CLIError(str(err)) from None
    try:
        serve(host, port, open_browser=bool(getattr(args, "open", False)))
    except ImportError as err:
        raise CLIError(str(err)) from None
    except OSError as err:
        raise CLIError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return 0


run = run_playground
