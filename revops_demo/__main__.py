"""`python -m revops_demo`: the generator's command line."""

import sys

from revops_demo.cli import main

sys.exit(main())
