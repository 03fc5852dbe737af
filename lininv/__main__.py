"""``python -m lininv`` runs the command-line interface."""

import sys

from lininv.cli import main

# Guarded so that multiprocessing's spawn start method (macOS, Windows), which re-imports the main
# module in every worker, does not re-run the CLI there.
if __name__ == "__main__":
    sys.exit(main())
