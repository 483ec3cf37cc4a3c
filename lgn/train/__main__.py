"""``python -m lgn.train ARGS`` is ``lgn train ARGS``; under ``torchrun`` it trains data-parallel."""

import sys

from lgn.cli import main

sys.exit(main(["train", *sys.argv[1:]]))
