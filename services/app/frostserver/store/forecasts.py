"""The frost forecasts (forecast/frost.py), in forecasts.json: each forecast sensor's, as of its newest bin.

The sampler makes them and replaces the file when one changes (ForecastsWriter: when a bin of the
trend closes, every two minutes by default, or when a sensor's reading gains or loses its value);
workers decode each version once (ForecastsReader) into the same FrostForecast objects, and the
sensors document shows them as `frost_eta` and `frost_eta_reason` (http/documents.py).

    {"version": 1, "lead_time": 10800.0, "threshold": 0.5,
     "forecasts": [{"sensor": "config/garden", "at": ..., "eta": ... | null, "reason": null | "warming",
                    "slope": ..., "level": ..., "floor": ...}, ...]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..codec import decode_document, encode_document
from ..model import FrostForecast
from .files import DecodedFile, FileIdentity, write_atomically

VERSION = 1
WHAT = "the frost forecasts"


@dataclass(frozen=True)
class Forecasts:
    """Every forecast sensor's frost forecast, with the settings they were made with."""

    lead_time: float = 0.0  # s
    threshold: float = 0.0  # the frost threshold, °C
    forecasts: tuple[FrostForecast, ...] = ()  # by sensor id

    def by_sensor(self) -> dict[str, FrostForecast]:
        """Return the forecasts by sensor id."""
        return {forecast.sensor: forecast for forecast in self.forecasts}


def encode(forecasts: Forecasts) -> bytes:
    """Return forecasts.json's bytes."""
    return encode_document(VERSION, forecasts)


def decode(data: bytes) -> Forecasts:
    """Return the Forecasts a forecasts.json holds; raise codec.Refused for another version or a damaged file."""
    return decode_document(Forecasts, data, VERSION, WHAT)


class ForecastsWriter:
    """Publish the forecasts when they change; the sampler's alone."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._written: Forecasts | None = None

    def write(
        self, forecasts: Mapping[str, FrostForecast] | Iterable[FrostForecast], lead_time: float, threshold: float
    ) -> None:
        """Replace forecasts.json if the forecasts or the settings they were made with changed."""
        values = forecasts.values() if isinstance(forecasts, Mapping) else forecasts
        current = Forecasts(lead_time, threshold, tuple(sorted(values, key=lambda forecast: forecast.sensor)))
        if current == self._written:
            return
        write_atomically(self.path, encode(current))
        self._written = current


class ForecastsReader(DecodedFile[Forecasts]):
    """Read the newest forecasts from any thread, decoding each version once (none before the first)."""

    def __init__(self, path: Path):
        super().__init__(path, _decode_version, Forecasts())


def _decode_version(_identity: FileIdentity | None, data: bytes) -> Forecasts:
    return decode(data)
