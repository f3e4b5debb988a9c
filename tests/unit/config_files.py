"""Settings loaded from a config file a test writes: what the service would read at start-up."""
from __future__ import annotations

from pathlib import Path

from frostserver.config import load_settings


def settings_from(tmp_path: Path, text: str):
    """Write `text` as tmp_path/frostserver.toml and load it the way the service does (FROST_CONFIG)."""
    path = tmp_path / "frostserver.toml"
    path.write_text(text)
    return load_settings({"FROST_CONFIG": str(path)})
