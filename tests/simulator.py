#!/usr/bin/env python3
"""Simulate a sensor device: a fake sysfs tree whose values drift like real hardware's.

    python3 tests/simulator.py --root DIR [--interval 1] [--day-seconds 600] [--start-hour 18] [--once]

builds the chips of tests/chips.py under DIR (the kernel's real layout, see tests/fakesysfs.py) and
rewrites their values every `interval` seconds:

- coretemp follows a CPU load pattern (a slow swell plus a burst every 90 s); nvme, acpitz and the
  board's temperatures follow it more gently;
- the CPU fan, the chassis fan and pwm1 follow the package temperature;
- the outdoor DS18B20 (hwmon temp1_input and its 1-Wire `w1_slave` file) and the SHT3x follow a
  night-time frost curve: +10 °C at 15:00, -4 °C at 03:00, below 0 °C from about 22:40 to 07:20.
  A whole day lasts `day-seconds` (600: ten minutes), starting at `start-hour`;
- a BME280 in a heated greenhouse warms up in the sun and is kept at 4 °C at night by its frost
  heater. Its driver (bmp280) is an IIO one, not hwmon: it shows only under
  /sys/bus/iio/devices/iio:device0 (in_temp_input in m°C, in_humidityrelative_input in m%RH,
  in_pressure_input in kPa), so only a config-file sensor reads it, as the demo's config does;
- voltages jitter; the +3.3 V rail sags below its minimum (with in2_alarm) for 6 s every 4 minutes,
  and the SHT3x raises humidity1_alarm in the small hours, when the air is near saturation.

Every value is written atomically (a temporary file in the same directory, then rename), so a
reader never sees half a value.  Standard library only: it runs with the system python3.

Tests drive it deterministically: `Simulator(FakeSysfs(tmp)).step(t)` writes the values for `t`
seconds after the start, the same values for the same `t` every time.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)  # fakesysfs and chips live beside this file

from chips import FIXTURES  # noqa: E402
from fakesysfs import FILE_MODE, DIR_MODE, FakeChip, FakeSysfs  # noqa: E402

# The chips of a plausible small server with an outdoor probe; a Pi's thermal zone would clash
# with acpitz's, and the broken/odd fixtures belong in tests, not in a demo.
CHIPS = ("coretemp", "nvme", "acpitz", "nct6798", "ds18b20", "sht3x", "ina219")

# Written last into the root: the tree is complete (scripts/demo.sh waits for it), and a root
# holding it may be wiped and rebuilt by the next run.
MARKER = ".frost-simulator"

# Outdoor temperature over a day: warmest at 15:00, coldest at 03:00.
FROST_MEAN = 3.0  # °C
FROST_AMPLITUDE = 7.0  # °C: +10 at 15:00, -4 at 03:00
WARMEST_HOUR = 15.0

# The greenhouse: the sun adds up to SUN_GAIN between sunrise and sunset; at night a thermostat
# heater keeps it at HEATER_SETPOINT, well above frost.
HEATER_SETPOINT = 4.0  # °C
SUN_GAIN = 12.0  # °C at solar noon (13:00)
SUNRISE, SUNSET = 6.0, 20.0  # hours
# The BME280 at 0x76 on the i2c bus of the SHT3x and INA219, and the IIO device its driver makes.
BME280_DEVICE = "platform/soc/fe804000.i2c/i2c-1/1-0076"
BME280_IIO = f"{BME280_DEVICE}/iio:device0"

LOAD_BURST_EVERY, LOAD_BURST_LENGTH = 90.0, 20.0  # s (real time): a periodic job on the CPU
SAG_EVERY, SAG_LENGTH = 240.0, 6.0  # s (real time): the +3.3 V rail sags below its minimum


@dataclass(frozen=True)
class State:
    """What the simulated world looked like at one step."""

    t: float  # seconds since the start
    hour: float  # simulated time of day, 0 <= hour < 24
    outdoor: float  # °C, the frost curve (before sensor noise)
    greenhouse: float  # °C, the greenhouse (before sensor noise)
    load: tuple[float, float]  # CPU load of each socket, 0..1
    sag: bool  # the +3.3 V rail is below its minimum


def frost_curve(hour: float) -> float:
    """Return the outdoor temperature (°C) at a time of day: a clear, still night with frost."""
    return FROST_MEAN + FROST_AMPLITUDE * math.cos(2 * math.pi * (hour - WARMEST_HOUR) / 24)


def greenhouse_curve(hour: float) -> float:
    """Return the heated greenhouse's temperature (°C) at a time of day: sun by day, heater by night."""
    sun = math.sin(math.pi * (hour - SUNRISE) / (SUNSET - SUNRISE)) if SUNRISE < hour < SUNSET else 0.0
    return max(HEATER_SETPOINT, frost_curve(hour) + 3.0 + SUN_GAIN * sun)


def cpu_load(t: float, phase: float = 0.0) -> float:
    """Return a CPU load (0..1) at t seconds: a slow swell plus a periodic burst."""
    swell = 0.25 + 0.15 * math.sin(2 * math.pi * (t + phase) / 53)
    into_burst = (t + phase) % LOAD_BURST_EVERY
    burst = 0.6 * math.sin(math.pi * into_burst / LOAD_BURST_LENGTH) ** 2 if into_burst < LOAD_BURST_LENGTH else 0.0
    return min(1.0, max(0.0, swell + burst))


def w1_slave_text(millidegrees: int) -> str:
    """Return what a DS18B20's w1_slave file shows for a temperature, CRC included."""
    # Scratchpad: temperature LSB, MSB (1/16 °C, two's complement), TH, TL, config (12 bit),
    # 0xff, reserved, 0x10, CRC; the w1_therm driver prints it twice, then t= in m°C.
    raw = round(millidegrees / 62.5) & 0xFFFF
    scratchpad = [raw & 0xFF, raw >> 8, 0x4B, 0x46, 0x7F, 0xFF, 0x0E, 0x10]
    scratchpad.append(_crc8(scratchpad))
    dump = " ".join(f"{byte:02x}" for byte in scratchpad)
    signed = raw - 0x10000 if raw & 0x8000 else raw
    return f"{dump} : crc={scratchpad[-1]:02x} YES\n{dump} t={int(signed * 1000 / 16)}\n"


def _crc8(data: list[int]) -> int:
    """Return the Dallas/Maxim 1-Wire CRC-8 of some bytes."""
    crc = 0
    for byte in data:
        for _ in range(8):
            mix = (crc ^ byte) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            byte >>= 1
    return crc


def write_in_place(path: Path, text: str) -> None:
    """Change a file's value the way sysfs does: in the same file, in one write.

    The app keeps the attribute files it reads at every sample open and reads them again in
    place, as it may on sysfs, so a value must not arrive as a new file under the old name. One
    write of the whole text at offset 0, never a truncation, so a read sees the old value or the
    new one; a shorter value is padded with spaces after its newline (sysfs parsers, the app's
    too, ignore surrounding whitespace).
    """
    data = text.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # readable by the app's user, whatever the umask
        os.pwrite(fd, data.ljust(os.fstat(fd).st_size, b" "), 0)
    finally:
        os.close(fd)


class Simulator:
    """The chips of CHIPS in a FakeSysfs tree, and their values at any time since the start."""

    def __init__(self, tree: FakeSysfs, *, day_seconds: float = 600.0, start_hour: float = 18.0,
                 seed: int = 0):
        if day_seconds <= 0:
            raise ValueError("day_seconds must be positive")
        self.tree = tree
        self.day_seconds = day_seconds
        self.start_hour = start_hour % 24
        self.seed = seed
        self.chips: dict[str, list[FakeChip]] = {name: FIXTURES[name](tree) for name in CHIPS}
        self._written: dict[Path, str] = {}
        # After the chips: the SHT3x made the i2c adapter the BME280 hangs off.
        tree.add_device(BME280_DEVICE, subsystem="bus/i2c", driver="bmp280")
        self.greenhouse_dir = tree.add_device(BME280_IIO, subsystem="bus/iio", attributes={"name": "bme280"})
        # Limits a healthy machine would have, where the fixtures show an alarm on purpose.
        nct = self.chips["nct6798"][0]
        nct.write_all({"in1_max": 1744, "in1_alarm": 0, "fan2_min": 300})
        # Alarm only near saturation, so the alarm is an event of the small hours.
        self.chips["sht3x"][0].write_all({"humidity1_max": 90000, "humidity1_max_hyst": 88000})

    def hour_at(self, t: float) -> float:
        """Return the simulated time of day t seconds after the start."""
        return (self.start_hour + 24 * t / self.day_seconds) % 24

    def t_at(self, hour: float, day: int = 0) -> float:
        """Return the first t (seconds since the start) at which the clock shows `hour`, on `day`."""
        return ((hour - self.start_hour) % 24 + 24 * day) * self.day_seconds / 24

    def step(self, t: float) -> State:
        """Write every sensor's value for t seconds after the start; the same t, the same values."""
        rng = random.Random(f"{self.seed}/{t!r}")
        hour = self.hour_at(t)
        state = State(t=t, hour=hour, outdoor=frost_curve(hour), greenhouse=greenhouse_curve(hour),
                      load=(cpu_load(t), cpu_load(t, phase=31.0)),
                      sag=t % SAG_EVERY >= SAG_EVERY - SAG_LENGTH)
        packages = self._coretemp(state, rng)
        self._nvme(state, rng)
        self._acpitz(state, rng)
        self._nct6798(state, rng, packages[0])
        self._outdoor(state, rng)
        self._greenhouse(state, rng)
        self._ina219(state, rng)
        return state

    # --- one method per chip; values in sysfs units (m°C, mV, mA, µW, RPM, m%RH) ---------------

    def _coretemp(self, state: State, rng: random.Random) -> list[float]:
        packages = []
        for socket, chip in enumerate(self.chips["coretemp"]):
            package = 36 + 6 * socket + 42 * state.load[socket] + rng.gauss(0, 0.4)
            packages.append(package)
            cores = (package, package - 3 + rng.gauss(0, 0.5), package - 2 + rng.gauss(0, 0.5))
            for index, value in enumerate(cores, start=1):
                self._set(chip, f"temp{index}_input", 1000 * round(value))  # coretemp: whole °C
        return packages

    def _nvme(self, state: State, rng: random.Random) -> None:
        for number, chip in enumerate(self.chips["nvme"]):
            celsius = 34 + 3 * number + 9 * state.load[0] + rng.gauss(0, 0.2)
            # NVMe drives report whole kelvins.
            millidegrees = 1000 * round(celsius + 273.15) - 273150
            self._set(chip, "temp1_input", millidegrees)
            self._set(chip, "temp2_input", millidegrees + 1000)

    def _acpitz(self, state: State, rng: random.Random) -> None:
        celsius = 27.8 + 5 * state.load[0] + rng.gauss(0, 0.1)
        self._set(self.chips["acpitz"][0], "temp1_input", 100 * round(celsius * 10))  # ACPI: 0.1 °C

    def _nct6798(self, state: State, rng: random.Random, package: float) -> None:
        chip = self.chips["nct6798"][0]
        cpu_fan = min(2400.0, max(700.0, 700 + 45 * (package - 40))) + rng.gauss(0, 12)
        chassis_fan = 650 + 350 * state.load[0] + rng.gauss(0, 8)
        rail = 2.952 if state.sag else 3.360 + rng.gauss(0, 0.006)
        self._set_all(chip, {
            # The nct6775 family has 8 mV steps, 0.5 °C steps, and pwm 0..255.
            "in0_input": 8 * round((1.040 - 0.030 * state.load[0] + rng.gauss(0, 0.004)) * 125),
            "in1_input": 8 * round((1.008 + rng.gauss(0, 0.003)) * 125),
            "in2_input": 16 * round(rail * 62.5),  # +3.3 V goes through a divider: 16 mV steps
            "in2_alarm": int(state.sag),
            "temp1_input": 500 * round((30 + 4 * state.load[0] + rng.gauss(0, 0.2)) * 2),
            "temp2_input": 500 * round((package - 2) * 2),
            "fan1_input": round(cpu_fan),
            "fan2_input": round(chassis_fan),
            "pwm1": min(255, max(0, round((cpu_fan - 300) / 2100 * 255))),
        })

    def _outdoor(self, state: State, rng: random.Random) -> None:
        garden, shelter = self.chips["ds18b20"][:2]
        # The probe in the garden follows the frost curve; the one in the shed is milder.
        for chip, celsius in ((garden, state.outdoor + rng.gauss(0, 0.05)),
                              (shelter, 6 + 0.5 * (state.outdoor - FROST_MEAN) + rng.gauss(0, 0.05))):
            text = w1_slave_text(round(celsius * 1000))
            millidegrees = int(text.rsplit("t=", 1)[1])  # the 12-bit value, as hwmon shows it too
            self._set(chip, "temp1_input", millidegrees)
            if chip.device_dir is not None:
                self._write(chip.device_dir / "w1_slave", text)
        # Relative humidity rises as the air cools towards its dew point.
        humidity = 70 - 22 * (state.outdoor - FROST_MEAN) / FROST_AMPLITUDE + rng.gauss(0, 0.3)
        humidity = min(100.0, max(0.0, humidity))
        sht3x = self.chips["sht3x"][0]
        self._set_all(sht3x, {
            "temp1_input": round((state.outdoor + 0.6 + rng.gauss(0, 0.05)) * 1000),
            "humidity1_input": round(humidity * 1000),
            "humidity1_alarm": int(humidity > 90),
        })

    def _greenhouse(self, state: State, rng: random.Random) -> None:
        celsius = state.greenhouse + rng.gauss(0, 0.05)
        # Damp at night under glass, drier in the warm afternoon.
        humidity = min(100.0, max(0.0, 95 - 2.2 * (celsius - HEATER_SETPOINT) + rng.gauss(0, 0.3)))
        pressure = 101.3 + 0.4 * math.sin(2 * math.pi * state.t / 3600) + rng.gauss(0, 0.005)
        # The IIO units of the bmp280 driver: m°C and m%RH in 1/100 steps, kPa with decimals.
        self._write(self.greenhouse_dir / "in_temp_input", f"{10 * round(celsius * 100)}\n")
        self._write(self.greenhouse_dir / "in_humidityrelative_input", f"{10 * round(humidity * 100)}\n")
        self._write(self.greenhouse_dir / "in_pressure_input", f"{pressure:.9f}\n")

    def _ina219(self, state: State, rng: random.Random) -> None:
        bus = 5.040 - 0.050 * state.load[0] + rng.gauss(0, 0.004)  # V
        current = 240 + 600 * state.load[0] + rng.gauss(0, 3)  # mA
        self._set_all(self.chips["ina219"][0], {
            "in0_input": round(current * 0.1),  # mV across the 0.1 Ω shunt
            "in1_input": round(bus * 1000),
            "curr1_input": round(current),
            "power1_input": 20000 * round(bus * current * 1000 / 20000),  # 20 mW steps
        })

    def _set(self, chip: FakeChip, attribute: str, value: object) -> None:
        self._write(chip.path(attribute), f"{value}\n")

    def _set_all(self, chip: FakeChip, values: dict[str, object]) -> None:
        for attribute, value in values.items():
            self._set(chip, attribute, value)

    def _write(self, path: Path, text: str) -> None:
        if self._written.get(path) != text:  # an unchanged value needs no write
            write_in_place(path, text)
            self._written[path] = text


def prepare_root(root: Path) -> None:
    """Make root an empty directory readable by everyone, wiping a tree a previous run left."""
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise SystemExit(f"simulator: {root} is not empty and was not made by the simulator; "
                             "give an empty or new directory")
        # Empty it but keep the directory itself: a running stack may have it bind-mounted.
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(DIR_MODE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write a fake sysfs tree whose sensor values drift.")
    parser.add_argument("--root", required=True, type=Path, help="the tree's root (FROST_SYSFS_ROOT)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between updates (default 1)")
    parser.add_argument("--day-seconds", type=float, default=600.0,
                        help="real seconds one simulated day lasts (default 600)")
    parser.add_argument("--start-hour", type=float, default=18.0,
                        help="simulated time of day at the start (default 18, frost within minutes)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sensor noise")
    parser.add_argument("--once", action="store_true", help="build the tree, write one step, exit")
    args = parser.parse_args(argv)
    if args.interval <= 0 or args.day_seconds <= 0:
        parser.error("--interval and --day-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prepare_root(args.root)
    simulator = Simulator(FakeSysfs(args.root), day_seconds=args.day_seconds,
                          start_hour=args.start_hour, seed=args.seed)
    state = simulator.step(0.0)
    (args.root / MARKER).write_text(f"{os.getpid()}\n")
    (args.root / MARKER).chmod(FILE_MODE)
    print(f"simulator: {len(CHIPS)} hwmon chips and a BME280 (IIO) under {args.root}; "
          f"a day lasts {args.day_seconds:g} s", flush=True)
    _report(state)
    if args.once:
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    start = time.monotonic()
    last_hour = int(state.hour)
    try:
        while True:
            # Keep to the interval's grid: a slow step delays the next one, never the schedule.
            elapsed = time.monotonic() - start
            time.sleep(args.interval - elapsed % args.interval)
            state = simulator.step(time.monotonic() - start)
            if int(state.hour) != last_hour:
                last_hour = int(state.hour)
                _report(state)
    except KeyboardInterrupt:
        return 0


def _report(state: State) -> None:
    """Print one line about the simulated world, once per simulated hour."""
    hours, minutes = divmod(round(state.hour * 60) % 1440, 60)
    frost = "  frost" if state.outdoor <= 0 else ""
    print(f"t={state.t:7.1f} s  {hours:02d}:{minutes:02d}  outdoor {state.outdoor:+5.1f} °C  "
          f"load {state.load[0]:4.0%} {state.load[1]:4.0%}{frost}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
