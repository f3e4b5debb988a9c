"""Synthetic nights for the frost forecast's replay tests: a garden sensor from 16:00 to 08:00.

Not recorded data: each night is a small physical model, stepped once a minute, of the air at
screen height over open ground:

- Radiative cooling: after sunset the air relaxes towards an equilibrium temperature T_eq, set by
  what the ground sees of the sky (Newton's law: dT/dt = (T_eq - T) / tau). A clear sky gives a
  low T_eq (-4 to -8 °C on these nights) and, in calm air, a slow approach (tau 3 to 6 h): the
  fast fall after sunset and the slow crawl before dawn of a real radiation night. Clouds give a
  T_eq near the cloud base's temperature (+3 °C or so).
- Wind mixes the warmer air above the night's inversion down: a higher T_eq, a shorter tau, and
  gusts, each a warm burst (+0.4 to +1.5 °C) that decays over five to ten minutes.
- Fronts and clouds arriving: T_eq ramps to another value over an hour (a cold front: down, with
  wind; a warm front or a cloud deck: up).
- Dew and hoar frost: the air's water vapour pressure stays as the afternoon left it until the air
  cools to its dew point (frost point below 0 °C); then water condenses, its latent heat slows the
  cooling to a tenth, and the vapour pressure falls with the temperature (the air stays saturated).
- Sunrise (07:30 on these nights): T_eq climbs by 12 °C over an hour and a half.
- Noise: turbulence as an AR(1) process (0.08 °C, 0.9 a minute), then the sensor: a DS18B20's
  resolution (0.0625 °C) for the temperature, an SHT3x's (0.01 %RH, at most 100) for the humidity.

`python3 tests/nights.py DIR` writes each night as a CSV in the shape of the history download
(`/api/v1/history?format=csv`): every two minutes, raw (`time,epoch,<id>,<id>`), or for some
nights aggregated (`<id> min,<id> max,<id> mean` over the two minutes' samples). The fixtures in
tests/unit/nights/ were written so; test_replay.py checks that this still writes them byte for byte.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

TEMPERATURE = "w1_slave_temp-virtual-0/temp1"  # a DS18B20 as the hwmon reader names it
HUMIDITY = "sht3x-i2c-1-44/humidity1"
START = datetime(2026, 1, 14, 16, 0, tzinfo=timezone.utc)  # every night starts at 16:00, UTC
HOURS = 16  # until 08:00
OUTPUT_STEP = 120  # s between rows
SUNSET, SUNRISE = 16.75, 7.5 + 24  # hours after midnight of the first day


@dataclass(frozen=True)
class Night:
    """One night's weather: what T_eq and tau do, the air's moisture, the wind."""

    name: str
    frost: bool  # whether the air reaches 0 °C (what the night was made to show)
    day: float  # °C at 16:00
    dew_point: float  # °C, the afternoon's
    clear: float  # T_eq under a clear sky, °C
    tau: float  # h, calm
    # (hour, T_eq from then, hours to ramp to it, tau from then), in time order
    changes: tuple[tuple[float, float, float, float], ...] = ()
    gusts_per_hour: float = 0.0
    seed: int = 0
    aggregated: bool = False  # write min, max and mean columns, as a long range's download has
    story: str = ""


NIGHTS = (
    Night("clear-calm-dry", True, 9.0, -6.0, -2.0, 4.5, seed=1,
          story="a textbook radiation night in dry air: frost a little after midnight"),
    Night("clear-calm-moist", False, 8.0, 2.5, -3.0, 3.5, seed=2,
          story="as clear, but moist air: it cools to its dew point (+2.5 °C), and dew slows it to a crawl above 0 °C"),
    Night("overcast", False, 7.0, 1.0, 3.0, 5.0, seed=3,
          story="a cloud deck all night: it cools towards +3 °C and stays above it"),
    Night("clouds-arrive", False, 9.0, -5.0, -3.0, 4.5, changes=((20.0, 4.0, 0.75, 3.0),), seed=4,
          story="clear until a cloud deck arrives at 20:00, at about 3 °C: the cooling stops short"),
    Night("cold-front", True, 10.0, -4.0, 6.0, 4.0, changes=((19.5, -6.0, 1.0, 1.5),), gusts_per_hour=1.0, seed=5,
          aggregated=True, story="mild and cloudy, then a cold front at 19:30 brings wind and a fast fall to frost"),
    Night("windy-gusts", False, 8.0, -3.0, 1.0, 2.0, gusts_per_hour=3.0, seed=6,
          story="windy all night: mixing holds it near +1.5 °C, gusts jolt it up and down"),
    Night("late-frost", True, 7.0, -8.0, -1.0, 5.5, seed=7,
          story="slow cooling towards -1 °C: frost only a few hours before dawn"),
    Night("early-frost", True, 4.0, -7.0, -8.0, 3.0, seed=8,
          story="a cold afternoon under a clear sky: frost by early evening, all night long"),
    Night("frost-point", True, 6.0, -2.0, -6.0, 3.5, seed=9, aggregated=True,
          story="moist cold air: below 0 °C before it reaches its frost point (-2 °C), which then holds it"),
    Night("hovering", False, 7.0, -4.0, 0.6, 4.0, seed=10,
          story="thin cloud: it approaches +0.6 °C and hovers just above the frost threshold"),
    Night("warm-front", False, 8.0, -2.0, -3.0, 4.5, changes=((20.5, 8.0, 1.0, 2.0),), gusts_per_hour=0.5, seed=11,
          story="a clear start, then a warm front at 20:30: from about 2 °C back up to 7 °C"),
    Night("dawn-frost", True, 8.0, -5.0, -2.5, 9.0, seed=12,
          story="clear, very slow cooling: a light frost from about 05:00, gone after sunrise"),
)


def vapour_pressure(celsius: float) -> float:
    """Saturation over water (hPa), as the app computes it (frostserver/derived/humidity.py)."""
    return 6.1094 * math.exp(17.625 * celsius / (celsius + 243.04))


def ice_pressure(celsius: float) -> float:
    return 6.1121 * math.exp(22.587 * celsius / (celsius + 273.86))


@dataclass
class Air:
    """The state of the model: the smooth temperature, the noise, the gusts, the vapour pressure."""

    temperature: float
    vapour: float  # hPa
    noise: float = 0.0
    gust: float = 0.0
    gust_decay: float = 1.0
    trace: list[tuple[float, float, float]] = field(default_factory=list)  # (unix time, °C, %RH)


def equilibrium(night: Night, hour: float) -> tuple[float, float]:
    """Return (T_eq, tau in h) at an hour after midnight of the first day."""
    t_eq, tau = night.clear, night.tau
    if hour < SUNSET:  # the afternoon: the sun still holds it up
        t_eq, tau = night.day, 6.0
    for at, target, ramp, new_tau in night.changes:
        if hour >= at:
            share = min(1.0, (hour - at) / ramp)
            t_eq, tau = t_eq + (target - t_eq) * share, tau + (new_tau - tau) * share
    if hour >= SUNRISE:
        share = min(1.0, (hour - SUNRISE) / 1.5)
        t_eq, tau = t_eq + 12.0 * share, tau + (1.5 - tau) * share
    return t_eq, tau


def simulate(night: Night) -> list[tuple[float, float, float]]:
    """Step the night once a minute; return (unix time, °C as the DS18B20 reads it, %RH as the SHT3x does)."""
    rng = random.Random(night.seed)
    air = Air(night.day, vapour_pressure(night.dew_point))
    start = START.timestamp()
    for minute in range(HOURS * 60 + 1):
        hour = 16 + minute / 60
        t_eq, tau = equilibrium(night, hour)
        rate = (t_eq - air.temperature) / (tau * 60)  # °C per minute
        saturation = vapour_pressure(air.temperature) if air.temperature >= 0 else ice_pressure(air.temperature)
        if rate < 0 and air.vapour >= saturation:  # at its dew (frost) point: condensation slows it
            rate /= 10
        air.temperature += rate
        saturation = vapour_pressure(air.temperature) if air.temperature >= 0 else ice_pressure(air.temperature)
        air.vapour = min(air.vapour, saturation)
        if rng.random() < night.gusts_per_hour / 60:
            air.gust, air.gust_decay = rng.uniform(0.4, 1.5), math.exp(-1 / rng.uniform(5, 10))
        air.gust *= air.gust_decay
        air.noise = 0.9 * air.noise + rng.gauss(0, 0.08 * math.sqrt(1 - 0.81))
        shown = air.temperature + air.noise + air.gust
        humidity = min(100.0, 100 * air.vapour / vapour_pressure(shown))
        air.trace.append((start + minute * 60, round(shown / 0.0625) * 0.0625, round(humidity, 2)))
    return air.trace


def iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def number(value: float) -> str:
    return repr(round(value, 4))


def csv_text(night: Night) -> str:
    """Return the night as the history download would write it."""
    trace = simulate(night)
    lines = []
    if not night.aggregated:
        lines.append(f"time,epoch,{TEMPERATURE},{HUMIDITY}")
        for when, temperature, humidity in trace[:: OUTPUT_STEP // 60]:
            lines.append(f"{iso(when)},{when:.0f},{number(temperature)},{number(humidity)}")
    else:
        columns = [f"{sensor} {statistic}" for sensor in (TEMPERATURE, HUMIDITY) for statistic in ("min", "max", "mean")]
        lines.append(",".join(["time", "epoch", *columns]))
        per_row = OUTPUT_STEP // 60
        for first in range(0, len(trace) - per_row + 1, per_row):
            rows = trace[first : first + per_row]
            when = rows[0][0]
            cells = []
            for index in (1, 2):
                values = [row[index] for row in rows]
                cells += [number(min(values)), number(max(values)), number(sum(values) / len(values))]
            lines.append(",".join([iso(when), f"{when:.0f}", *cells]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to write <night>.csv")
    args = parser.parse_args(argv)
    args.directory.mkdir(parents=True, exist_ok=True)
    for night in NIGHTS:
        (args.directory / f"{night.name}.csv").write_text(csv_text(night))
        print(f"{night.name}.csv: {night.story}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
