"""``python -m lininv`` runs the command-line interface."""

import sys

from lininv._cli import main

sys.exit(main())
