"""`python -m bruxwatch.cli`: the same as the `bruxwatch` command."""

import sys

from bruxwatch.cli.main import main

sys.exit(main())
