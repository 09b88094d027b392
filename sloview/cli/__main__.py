"""`python -m sloview.cli`."""

from sloview.cli.main import main

raise SystemExit(main())
