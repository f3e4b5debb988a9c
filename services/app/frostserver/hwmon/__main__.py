"""`python -m frostserver.hwmon [SYSFS_ROOT]`: print one sample of every sensor, like `sensors`."""

import sys

from .report import main

sys.exit(main())
