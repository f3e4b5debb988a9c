"""`python -m frostserver.hwmon [--json] [SYSFS_ROOT]`: print one sample of every sensor, like `sensors [-j]`."""

import sys

from .report import main

sys.exit(main())
