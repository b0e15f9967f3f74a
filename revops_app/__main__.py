"""`python -m revops_app` is the `revops` command."""

import sys

from revops_app.cli import main

sys.exit(main())
