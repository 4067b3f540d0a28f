"""``python -m p4mobility.cli``: the same as the ``p4mob`` console script."""
from __future__ import annotations

import sys

from p4mobility.cli import main

sys.exit(main())
