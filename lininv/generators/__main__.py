"""``python -m lininv.generators ...`` is ``lininv generators ...`` (the command line lives in
:mod:`lininv.cli.generators`)."""

import sys

from lininv.cli import main

if __name__ == "__main__":
    sys.exit(main(["generators", *sys.argv[1:]]))
