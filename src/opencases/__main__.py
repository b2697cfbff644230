"""`python -m opencases` runs the command line."""

import sys

from opencases.cli import main

sys.exit(main())
