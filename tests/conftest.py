"""Make the app package (services/app) and the test helpers (tests/) importable."""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for path in (REPO / "services" / "app", REPO / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
