"""``python -m selfsup`` is the ``selfsup`` command."""

import sys

from .cli import main

sys.exit(main())
