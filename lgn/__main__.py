"""``python -m lgn ARGS`` is ``lgn ARGS``; ``torchrun ... -m lgn train ARGS`` trains data-parallel."""

import sys

from lgn.cli import main

sys.exit(main())
