"""``python -m benchmarks``: run the suite (see ``--help``)."""

from benchmarks.runner import main

raise SystemExit(main())
