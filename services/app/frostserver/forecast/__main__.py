"""`python -m frostserver.forecast replay FILE.csv`: see replay.py."""

import sys

from .replay import main

sys.exit(main())
