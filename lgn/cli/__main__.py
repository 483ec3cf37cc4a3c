"""``python -m lgn.cli``: the ``lgn`` command."""

from lgn.cli import main

raise SystemExit(main())
