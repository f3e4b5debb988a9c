"""Fake chips modelled on real machines, each a plain function adding to a FakeSysfs tree.

Each fixture notes what `sensors` (lm-sensors 3.6) prints for it, so tests can assert the same
values.  Attribute sets and values follow the drivers (coretemp, nvme, nct6775, amdgpu, ...)
as they appear on real hardware.  FIXTURES maps a short name to each function; `build_zoo`
puts them all in one tree for integration tests and the simulator.
"""
from __future__ import annotations

from pathlib import Path

from fakesysfs import FakeChip, FakeSysfs

_PCH = "pci0000:00"


def coretemp_dual_socket(tree: FakeSysfs) -> list[FakeChip]:
    """Add two Intel coretemp packages with two cores each (a dual-socket server)."""
    # sensors:
    #   coretemp-isa-0000            Adapter: ISA adapter
    #   Package id 0:  +45.0°C  (high = +80.0°C, crit = +100.0°C)
    #   Core 0:        +42.0°C  (high = +80.0°C, crit = +100.0°C)
    #   Core 1:        +43.0°C  (high = +80.0°C, crit = +100.0°C)
    #   coretemp-isa-0001 ... Package id 1: +51.0°C, Core 0: +48.0°C, Core 1: +49.0°C
    chips = []
    for socket in (0, 1):
        chip = tree.add_chip("coretemp", device=f"platform/coretemp.{socket}", bus="platform",
                             driver="coretemp")
        base = 45000 + 6000 * socket
        # temp1 is the package; temp(N+2) is core N, as coretemp numbers them.
        channels = [(f"Package id {socket}", base), ("Core 0", base - 3000), ("Core 1", base - 2000)]
        for index, (label, value) in enumerate(channels, start=1):
            chip.write_all({f"temp{index}_label": label, f"temp{index}_input": value,
                            f"temp{index}_max": 80000, f"temp{index}_crit": 100000,
                            f"temp{index}_crit_alarm": 0})
        chips.append(chip)
    return chips


def nvme_two_drives(tree: FakeSysfs) -> list[FakeChip]:
    """Add two NVMe drives; their hwmon hangs off the nvme class device, not the PCI function."""
    # sensors:
    #   nvme-pci-0100                Adapter: PCI adapter
    #   Composite:    +38.9°C  (low  = -273.1°C, high = +84.8°C)  (crit = +84.8°C)
    #   Sensor 1:     +38.9°C  (low  = -273.1°C, high = +65261.8°C)
    #   nvme-pci-0200 ... Composite: +41.9°C
    chips = []
    for nr, (bridge, function) in enumerate([("0000:00:1d.0", "0000:01:00.0"), ("0000:00:1d.4", "0000:02:00.0")]):
        pci = f"{_PCH}/{bridge}/{function}"
        tree.add_device(pci, subsystem="bus/pci", driver="nvme")
        tree.add_device(f"{pci}/nvme/nvme{nr}", subsystem="class/nvme", parent=pci)
        chip = tree.add_chip("nvme", device=f"{pci}/nvme/nvme{nr}")
        composite = 38850 + 3000 * nr
        chip.write_all({
            "temp1_label": "Composite", "temp1_input": composite, "temp1_min": -273150,
            "temp1_max": 84850, "temp1_crit": 84850, "temp1_alarm": 0,
            # The drive reports 0xffff K as "no limit": 65261.85 °C, shown as is by sensors.
            "temp2_label": "Sensor 1", "temp2_input": composite, "temp2_min": -273150,
            "temp2_max": 65261850,
        })
        chips.append(chip)
    return chips


def acpitz(tree: FakeSysfs) -> list[FakeChip]:
    """Add the ACPI thermal zone, whose hwmon sits under thermal_zone0 -> LNXTHERM:00 (acpi bus)."""
    # sensors (kernels registering the hwmon under the thermal zone):
    #   acpitz-acpi-0                Adapter: ACPI interface
    #   temp1:        +27.8°C  (crit = +105.0°C)
    # (Older kernels registered it without a parent: acpitz-virtual-0.)
    acpi = "LNXSYSTM:00/LNXSYBUS:01/LNXTHERM:00"
    tree.add_device(acpi, subsystem="bus/acpi")
    tree.add_device("virtual/thermal/thermal_zone0", subsystem="class/thermal", parent=acpi,
                    attributes={"type": "acpitz", "temp": 27800})
    chip = tree.add_chip("acpitz", device="virtual/thermal/thermal_zone0")
    chip.write_all({"temp1_input": 27800, "temp1_crit": 105000})
    return [chip]


def nct6798(tree: FakeSysfs) -> list[FakeChip]:
    """Add a Nuvoton NCT6798D Super-I/O: voltages, fans, pwm, temps with types, intrusion."""
    # sensors:
    #   nct6798-isa-0290             Adapter: ISA adapter
    #   in0:        1.04 V  (min =  +0.00 V, max =  +1.74 V)
    #   in1:        1.01 V  (min =  +0.00 V, max =  +0.00 V)  ALARM
    #   in2:        3.36 V  (min =  +2.98 V, max =  +3.63 V)
    #   fan1:     1251 RPM  (min =    0 RPM)
    #   fan2:        0 RPM  (min =    0 RPM)
    #   SYSTIN:    +33.0°C  (high = +80.0°C, hyst = +75.0°C)  sensor = thermistor
    #   CPUTIN:    +40.5°C  (high = +80.0°C, hyst = +75.0°C)  sensor = thermal diode
    #   intrusion0: ALARM
    #   intrusion1: OK
    #   cpu0_vid: +1.100 V
    # (lm-sensors 3.6 does not print pwm channels.)
    chip = tree.add_chip("nct6798", device="platform/nct6775.656", bus="platform", driver="nct6775")
    chip.write_all({
        "in0_input": 1040, "in0_min": 0, "in0_max": 1744, "in0_alarm": 0, "in0_beep": 0,
        "in1_input": 1008, "in1_min": 0, "in1_max": 0, "in1_alarm": 1, "in1_beep": 0,
        "in2_input": 3360, "in2_min": 2976, "in2_max": 3632, "in2_alarm": 0, "in2_beep": 0,
        "fan1_input": 1251, "fan1_min": 0, "fan1_alarm": 0, "fan1_pulses": 2, "fan1_beep": 0,
        "fan2_input": 0, "fan2_min": 0, "fan2_alarm": 0, "fan2_pulses": 2, "fan2_beep": 0,
        "temp1_label": "SYSTIN", "temp1_input": 33000, "temp1_max": 80000, "temp1_max_hyst": 75000,
        "temp1_type": 4, "temp1_alarm": 0, "temp1_offset": 0, "temp1_beep": 0,
        "temp2_label": "CPUTIN", "temp2_input": 40500, "temp2_max": 80000, "temp2_max_hyst": 75000,
        "temp2_type": 3, "temp2_alarm": 0, "temp2_offset": 0, "temp2_beep": 0,
        "pwm1": 128, "pwm1_enable": 5, "pwm1_mode": 1, "pwm1_temp_sel": 1,
        "pwm1_auto_point1_pwm": 64, "pwm1_auto_point1_temp": 40000,
        "pwm2": 255, "pwm2_enable": 0, "pwm2_mode": 1,
        "intrusion0_alarm": 1, "intrusion0_beep": 0, "intrusion1_alarm": 0, "intrusion1_beep": 0,
        "cpu0_vid": 1100, "beep_enable": 0,
    })
    return [chip]


def amdgpu(tree: FakeSysfs) -> list[FakeChip]:
    """Add an AMD GPU: edge/junction/mem temps, power1_average only, clocks, fan and pwm."""
    # sensors:
    #   amdgpu-pci-0900              Adapter: PCI adapter
    #   vddgfx:     850.00 mV
    #   fan1:          0 RPM  (min =    0 RPM, max = 3300 RPM)
    #   edge:        +45.0°C  (crit = +100.0°C, hyst = -273.1°C)
    #   junction:    +52.0°C  (crit = +110.0°C, hyst = -273.1°C)
    #   mem:         +50.0°C  (crit = +100.0°C, hyst = -273.1°C)
    #   PPT:          25.00 W  (cap = 150.00 W)
    # (lm-sensors 3.6 does not print freq channels; sclk is 500 MHz, mclk 96 MHz.)
    pci = f"{_PCH}/0000:00:03.1/0000:09:00.0"
    chip = tree.add_chip("amdgpu", device=pci, bus="pci", driver="amdgpu")
    chip.write_all({
        "in0_label": "vddgfx", "in0_input": 850,
        "fan1_input": 0, "fan1_min": 0, "fan1_max": 3300, "fan1_target": 0, "fan1_enable": 1,
        "pwm1": 0, "pwm1_enable": 2, "pwm1_min": 0, "pwm1_max": 255,
        "temp1_label": "edge", "temp1_input": 45000, "temp1_crit": 100000, "temp1_crit_hyst": -273150,
        "temp1_emergency": 105000,
        "temp2_label": "junction", "temp2_input": 52000, "temp2_crit": 110000, "temp2_crit_hyst": -273150,
        "temp2_emergency": 115000,
        "temp3_label": "mem", "temp3_input": 50000, "temp3_crit": 100000, "temp3_crit_hyst": -273150,
        "temp3_emergency": 105000,
        "power1_label": "PPT", "power1_average": 25000000, "power1_cap": 150000000,
        "power1_cap_max": 150000000, "power1_cap_min": 0,
        "freq1_label": "sclk", "freq1_input": 500000000, "freq2_label": "mclk", "freq2_input": 96000000,
    })
    return [chip]


def raspberry_pi(tree: FakeSysfs) -> list[FakeChip]:
    """Add a Raspberry Pi 4's cpu_thermal (virtual thermal zone) and rpi_volt (undervoltage alarm)."""
    # sensors:
    #   cpu_thermal-virtual-0        Adapter: Virtual device
    #   temp1:        +44.8°C
    #   rpi_volt-isa-0000            Adapter: ISA adapter
    #   in0:              N/A
    tree.add_device("virtual/thermal/thermal_zone0", subsystem="class/thermal",
                    attributes={"type": "cpu-thermal", "temp": 44790})
    thermal = tree.add_chip("cpu_thermal", device="virtual/thermal/thermal_zone0")
    thermal.write("temp1_input", 44790)
    volt = tree.add_chip("rpi_volt", device="platform/rpi_volt", bus="platform", driver="raspberrypi-hwmon")
    volt.write("in0_lcrit_alarm", 0)
    return [thermal, volt]


def ds18b20(tree: FakeSysfs, serials: tuple[str, ...] = ("28-000005e2fdc3", "28-0316a2794aff")) -> list[FakeChip]:
    """Add 1-wire DS18B20 probes; each is w1_slave_temp on the w1 bus, so lm-sensors names all alike."""
    # sensors (the same name twice -- lm-sensors assumes virtual chips unique):
    #   w1_slave_temp-virtual-0      Adapter: Virtual device
    #   temp1:        +23.1°C
    #   w1_slave_temp-virtual-0      Adapter: Virtual device
    #   temp1:        +21.5°C
    tree.add_device("w1_bus_master1", subsystem="bus/w1")
    chips = []
    for serial, value in zip(serials, (23125, 21500, 19875, 18000)):
        chip = tree.add_chip("w1_slave_temp", device=f"w1_bus_master1/{serial}", bus="w1", driver="w1_slave_driver")
        chip.write("temp1_input", value)
        chips.append(chip)
    return chips


def sht3x(tree: FakeSysfs) -> list[FakeChip]:
    """Add a Sensirion SHT3x temperature/humidity sensor at 0x44 on i2c-1."""
    # sensors:
    #   sht3x-i2c-1-44               Adapter: bcm2835 (i2c@7e804000)
    #   temp1:        +23.5°C  (low  = -10.0°C, high = +60.0°C)  (hyst = -8.0°C, hyst = +58.0°C)
    #   humidity1:    45.2 %RH (min = 20.0 %RH, max = 80.0 %RH)
    adapter = _i2c_1(tree)
    chip = tree.add_chip("sht3x", device=f"{adapter}/1-0044", bus="i2c", driver="sht3x")
    chip.write_all({
        "temp1_input": 23500, "temp1_min": -10000, "temp1_min_hyst": -8000, "temp1_max": 60000,
        "temp1_max_hyst": 58000, "temp1_alarm": 0,
        "humidity1_input": 45200, "humidity1_min": 20000, "humidity1_min_hyst": 22000,
        "humidity1_max": 80000, "humidity1_max_hyst": 79500, "humidity1_alarm": 0,
        "heater_enable": 0, "update_interval": 1000,
    })
    return [chip]


def ina219(tree: FakeSysfs) -> list[FakeChip]:
    """Add a TI INA219 current/power monitor at 0x40 on i2c-1."""
    # sensors:
    #   ina219-i2c-1-40              Adapter: bcm2835 (i2c@7e804000)
    #   in0:          24.00 mV   (shunt voltage)
    #   in1:           5.04 V    (bus voltage)
    #   power1:        1.21 W
    #   curr1:       240.00 mA
    adapter = _i2c_1(tree)
    chip = tree.add_chip("ina219", device=f"{adapter}/1-0040", bus="i2c", driver="ina2xx")
    chip.write_all({"in0_input": 24, "in1_input": 5040, "curr1_input": 240, "power1_input": 1210000,
                    "shunt_resistor": 100000, "update_interval": 1})
    return [chip]


def it87_old_layout(tree: FakeSysfs) -> list[FakeChip]:
    """Add an ITE IT8712F the pre-2.6.30 way: `name` and attributes in hwmonN/device/."""
    # sensors:
    #   it87-isa-0290                Adapter: ISA adapter
    #   in0:        1.10 V  (min = +0.00 V, max = +4.08 V)
    #   fan1:       2008 RPM (min = 0 RPM)
    #   temp1:     +37.0°C  (low = +127.0°C, high = +127.0°C)  sensor = thermistor
    chip = tree.add_chip("it87", device="platform/it87.656", bus="platform", driver="it87", old_layout=True)
    chip.write_all({"in0_input": 1104, "in0_min": 0, "in0_max": 4080, "in0_alarm": 0,
                    "fan1_input": 2008, "fan1_min": 0, "fan1_div": 8, "fan1_alarm": 0,
                    "temp1_input": 37000, "temp1_min": 127000, "temp1_max": 127000, "temp1_type": 4,
                    "temp1_alarm": 0})
    return [chip]


def it87_board(tree: FakeSysfs) -> list[FakeChip]:
    """Add an ITE IT8728F as a desktop board wires it: rails behind dividers, see tests/sensors.d/."""
    # in2/in3/in4 read +3.3V/+12V/+5V through resistor dividers, in6 is not connected (it floats
    # at the ADC's top), in7/in8 are 3VSB/Vbat (scaled by the driver, no label files).  Debian's
    # sensors3.conf does not list it8728, so `sensors` shows the raw rails:
    #   it8728-isa-0a30              Adapter: ISA adapter
    #   in2:    1.68 V   in3:  1.82 V   in4:  1.26 V   in6:  3.06 V   in7:  3.31 V   in8:  3.22 V
    #   fan1: 1704 RPM   temp2: +41.0°C (sensor = thermal diode)   intrusion0: OK
    # With tests/sensors.d/it87_board.conf: "+3.3V: 3.36 V", "+12V: 12.04 V", "+5V: 5.04 V",
    # "3VSB: 3.31 V", "Vbat: 3.22 V", "CPU Fan: 1704 RPM", "CPU: +41.0°C", and no in6.
    chip = tree.add_chip("it8728", device="platform/it87.2608", bus="platform", driver="it87")
    rails = {"in0": 1128, "in1": 1500, "in2": 1680, "in3": 1824, "in4": 1260, "in5": 1056, "in6": 3060}
    for channel, millivolts in rails.items():
        chip.write_all({f"{channel}_input": millivolts, f"{channel}_min": 0, f"{channel}_max": 3060,
                        f"{channel}_alarm": 0, f"{channel}_beep": 0})
    chip.write_all({
        "in7_input": 3312, "in7_min": 0, "in7_max": 6120, "in7_alarm": 0, "in7_beep": 0,
        "in8_input": 3216,  # Vbat: the driver has no limits for it
        "fan1_input": 1704, "fan1_min": 0, "fan1_alarm": 0, "fan1_beep": 0,
        "fan2_input": 1096, "fan2_min": 0, "fan2_alarm": 0, "fan2_beep": 0,
        "fan3_input": 0, "fan3_min": 0, "fan3_alarm": 0, "fan3_beep": 0,
        "temp1_input": 34000, "temp1_min": 127000, "temp1_max": 127000, "temp1_type": 4, "temp1_alarm": 0,
        "temp2_input": 41000, "temp2_min": 127000, "temp2_max": 127000, "temp2_type": 3, "temp2_alarm": 0,
        "temp3_input": 48000, "temp3_min": 127000, "temp3_max": 127000, "temp3_type": 4, "temp3_alarm": 0,
        "pwm1": 128, "pwm1_enable": 2, "pwm2": 96, "pwm2_enable": 2,
        "intrusion0_alarm": 0,
    })
    return [chip]


def no_name(tree: FakeSysfs) -> list[FakeChip]:
    """Add a hwmon directory without a `name` file (lm-sensors skips it; we name it after the driver)."""
    # sensors: nothing.  We report foo_sensor-isa-0000 (driver name, platform device foo_sensor.0)
    # and hwmon-virtual-0 (no device, no driver to name it after).
    chip = tree.add_chip(None, device="platform/foo_sensor.0", bus="platform", driver="foo_sensor")
    chip.write_all({"temp1_input": 41000, "temp1_max": 90000})
    bare = tree.add_chip(None)
    bare.write("temp1_input", 36000)
    return [chip, bare]


def several_on_one_parent(tree: FakeSysfs, hwmon: tuple[int | None, int | None] = (None, None)) -> list[FakeChip]:
    """Add two hwmon devices of one driver on one PCI NIC (node_exporter #3637, #3673)."""
    # sensors prints mlx5-pci-0500 twice; we keep the first and call the second mlx5-pci-0500~2,
    # ordered by device path, then by channel names (temp1 < temp1,temp2), never by hwmonN.
    pci = f"{_PCH}/0000:00:1c.0/0000:05:00.0"
    tree.add_device(pci, subsystem="bus/pci", driver="mlx5_core")
    asic = tree.add_chip("mlx5", device=pci, hwmon=hwmon[0])
    asic.write_all({"temp1_label": "asic", "temp1_input": 58000, "temp1_crit": 105000,
                    "temp1_highest": 61000})
    module = tree.add_chip("mlx5", device=pci, hwmon=hwmon[1])
    module.write_all({"temp1_label": "module0", "temp1_input": 44000, "temp1_crit": 75000,
                      "temp2_label": "module1", "temp2_input": 45000, "temp2_crit": 75000})
    return [asic, module]


def duplicate_labels(tree: FakeSysfs) -> list[FakeChip]:
    """Add a Dell SMM chip, which labels several channels "Other" (Glances #2280)."""
    # sensors:
    #   dell_smm-isa-0000            Adapter: ISA adapter
    #   CPU:        +52.0°C
    #   Ambient:    +35.0°C
    #   Other:      +40.0°C
    #   Other:      +41.0°C
    #   Processor Fan: 2400 RPM
    chip = tree.add_chip("dell_smm", device="platform/dell_smm_hwmon", bus="platform", driver="dell_smm_hwmon")
    chip.write_all({"temp1_label": "CPU", "temp1_input": 52000, "temp2_label": "Ambient",
                    "temp2_input": 35000, "temp3_label": "Other", "temp3_input": 40000,
                    "temp4_label": "Other", "temp4_input": 41000,
                    "fan1_label": "Processor Fan", "fan1_input": 2400, "fan1_min": 0, "fan1_max": 4900})
    return [chip]


def broken(tree: FakeSysfs) -> list[FakeChip]:
    """Add a chip with every kind of broken attribute a tree can hold (errnos are injected instead)."""
    # sensors skips what is not a regular file (temp1, temp2) and prints N/A for the unparsable.
    chip = tree.add_chip("broken", device="platform/broken.0", bus="platform", driver="broken")
    chip.write_all({
        "temp5_input": 127998000,  # the 0x7fff-style sentinel of a disconnected diode
        "temp6_input": 30000, "temp6_fault": 1,
        "temp7_input": 30000, "temp7_enable": 0,
        "temp8_input": 31000, "temp8_max": 30000, "temp8_max_alarm": 1,
        "temp9_input": 40000,
        "temp10_input": 41000, "temp10_crit": 90000,
        "fan1_input": 1000,
        "in0_input": -5000,  # negative rails are real (-5 V, -12 V)
        "humidity1_input": 200000,
    })
    chip.break_attribute("temp1_input", "directory")
    chip.break_attribute("temp2_input", "dangling")
    chip.break_attribute("temp3_input", "empty")
    chip.break_attribute("temp4_input", "garbage")
    chip.break_attribute("temp9_label", "directory")
    chip.break_attribute("temp10_max", "garbage")
    chip.break_attribute("fan1_alarm", "dangling")
    return [chip]


def nct6779(tree: FakeSysfs) -> list[FakeChip]:
    """Add a Nuvoton NCT6779D Super-I/O at 0xa20 with a fan curve on pwm1 but no pwm1 itself."""
    # Modelled on a capture whose pwm1 has its curve, mode and step settings but no duty-cycle
    # file: node_exporter exports the 29 settings as node_hwmon_pwm_*{sensor="pwm1"}; we keep
    # them as settings of the chip (GET /api/v1/chips), not as a sensor without a value.
    # sensors:
    #   nct6779-isa-0a20             Adapter: ISA adapter
    #   in0:       896.00 mV (min =  +0.00 V, max =  +1.74 V)
    #   in1:         1.01 V  (min =  +0.00 V, max =  +0.00 V)  ALARM
    #   in2:         3.39 V  (min =  +2.98 V, max =  +3.63 V)
    #   ... in3-in14 likewise, in13 and in14 with ALARM
    #   fan1:        0 RPM  (min =    0 RPM)
    #   fan2:     1102 RPM  (min =  300 RPM)
    #   fan3:      785 RPM  (min =    0 RPM)
    #   SYSTIN:    +36.0°C  (high = +80.0°C, hyst = +75.0°C)  sensor = thermistor
    #   CPUTIN:    +39.5°C  (high = +80.0°C, hyst = +75.0°C)  sensor = thermal diode
    #   AUXTIN0:   +24.5°C  (high = +80.0°C, hyst = +75.0°C)  sensor = thermistor
    #   AUXTIN1:   +98.0°C  (high = +80.0°C, hyst = +75.0°C)  ALARM  sensor = thermistor
    #   PECI Agent 0:  +40.0°C
    #   intrusion0: ALARM
    #   intrusion1: OK
    # (lm-sensors 3.6 does not print pwm channels; AUXTIN1 is an open input reading garbage.)
    chip = tree.add_chip("nct6779", device="platform/nct6775.2592", bus="platform", driver="nct6775")
    volts = [(896, 0, 1744), (1008, 0, 0), (3392, 2976, 3632), (3376, 2976, 3632), (1016, 0, 1744),
             (128, 0, 1744), (848, 0, 1744), (3392, 2976, 3632), (3280, 2704, 3632), (1064, 0, 1744),
             (896, 0, 1744), (264, 0, 1744), (1032, 0, 1744), (520, 0, 0), (544, 0, 0)]
    for index, (value, low, high) in enumerate(volts):
        alarm = int(not low <= value <= high)
        chip.write_all({f"in{index}_input": value, f"in{index}_min": low, f"in{index}_max": high,
                        f"in{index}_alarm": alarm, f"in{index}_beep": 0})
    for index, (rpm, low) in enumerate([(0, 0), (1102, 300), (785, 0)], start=1):
        chip.write_all({f"fan{index}_input": rpm, f"fan{index}_min": low, f"fan{index}_alarm": 0,
                        f"fan{index}_beep": 0, f"fan{index}_pulses": 2})
    temps = [("SYSTIN", 36000, 4), ("CPUTIN", 39500, 3), ("AUXTIN0", 24500, 4), ("AUXTIN1", 98000, 4)]
    for index, (label, value, kind) in enumerate(temps, start=1):
        chip.write_all({f"temp{index}_label": label, f"temp{index}_input": value, f"temp{index}_max": 80000,
                        f"temp{index}_max_hyst": 75000, f"temp{index}_type": kind,
                        f"temp{index}_alarm": int(value > 80000), f"temp{index}_offset": 0,
                        f"temp{index}_beep": 0})
    chip.write_all({"temp7_label": "PECI Agent 0", "temp7_input": 40000})
    # pwm1: every setting, no pwm1 (29 attributes)
    chip.write_all({
        "pwm1_enable": 5, "pwm1_mode": 1, "pwm1_temp_sel": 2, "pwm1_target_temp": 0,
        "pwm1_temp_tolerance": 0, "pwm1_crit_temp_tolerance": 2000, "pwm1_stop_time": 6000,
        "pwm1_step_up_time": 100, "pwm1_step_down_time": 100, "pwm1_start": 1, "pwm1_floor": 1,
        "pwm1_max": 255, "pwm1_step": 0, "pwm1_weight_temp_sel": 0, "pwm1_weight_temp_step": 0,
        "pwm1_weight_temp_step_tol": 0, "pwm1_weight_temp_step_base": 0, "pwm1_weight_duty_step": 0,
        "pwm1_weight_duty_base": 0,
    })
    curve = [(25000, 60), (40000, 100), (55000, 150), (70000, 200), (100000, 255)]
    for point, (temp, duty) in enumerate(curve, start=1):
        chip.write_all({f"pwm1_auto_point{point}_temp": temp, f"pwm1_auto_point{point}_pwm": duty})
    chip.write_all({
        "pwm2": 153, "pwm2_enable": 5, "pwm2_mode": 0, "pwm2_temp_sel": 1,
        "pwm2_auto_point1_temp": 30000, "pwm2_auto_point1_pwm": 80,
        "intrusion0_alarm": 1, "intrusion0_beep": 0, "intrusion1_alarm": 0, "intrusion1_beep": 0,
        "beep_enable": 0,
    })
    return [chip]


def asus_nb_wmi(tree: FakeSysfs) -> list[FakeChip]:
    """Add an ASUS laptop's two hwmon devices on platform/asus-nb-wmi (node_exporter #3637)."""
    # One holds nothing but the fan mode (pwm1_enable, no pwm1), the other the WMI sensors.
    # node_exporter up to 1.11 labels both chip="platform_asus_nb_wmi"; 1.12 suffixes the names.
    # sensors:
    #   asus-isa-0000                Adapter: ISA adapter
    #   (no readings)
    #   asus_wmi_sensors-isa-0000    Adapter: ISA adapter
    #   CPU Core Voltage:   1.13 V
    #   CPU Fan:          2100 RPM
    #   Chassis Fan 1:       0 RPM
    #   CPU Temperature:        +45.0°C
    #   Motherboard Temperature: +33.0°C
    #   Chipset Temperature:    +49.0°C
    device = "platform/asus-nb-wmi"
    fan_mode = tree.add_chip("asus", device=device, bus="platform", driver="asus-nb-wmi")
    fan_mode.write("pwm1_enable", 2)
    wmi = tree.add_chip("asus_wmi_sensors", device=device)
    wmi.write_all({
        "in0_label": "CPU Core Voltage", "in0_input": 1128,
        "fan1_label": "CPU Fan", "fan1_input": 2100, "fan2_label": "Chassis Fan 1", "fan2_input": 0,
        "temp1_label": "CPU Temperature", "temp1_input": 45000,
        "temp2_label": "Motherboard Temperature", "temp2_input": 33000,
        "temp3_label": "Chipset Temperature", "temp3_input": 49000,
    })
    return [fan_mode, wmi]


def wifi_phy(tree: FakeSysfs) -> list[FakeChip]:
    """Add a MediaTek MT7996 tri-band wifi card: one hwmon device per band, all on ieee80211 phy0 (#3673)."""
    # node_exporter up to 1.11 labels all three chip="ieee80211_phy0"; 1.12 suffixes the cleaned
    # names (mt7996_phy0.0 -> ieee80211_phy0_mt7996_phy0_0).
    # sensors:
    #   mt7996_phy0.0-pci-0100       Adapter: PCI adapter
    #   temp1:        +55.0°C  (high = +120.0°C, crit = +110.0°C)
    #   mt7996_phy0.1-pci-0100 ... temp1: +57.0°C;  mt7996_phy0.2-pci-0100 ... temp1: +52.0°C
    pci = "platform/soc/11280000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0"
    tree.add_device(pci, subsystem="bus/pci", driver="mt7996e")
    phy = f"{pci}/ieee80211/phy0"
    tree.add_device(phy, subsystem="class/ieee80211", parent=pci)
    chips = []
    for band, value in enumerate((55000, 57000, 52000)):
        chip = tree.add_chip(f"mt7996_phy0.{band}", device=phy)
        chip.write_all({"temp1_input": value, "temp1_crit": 110000, "temp1_max": 120000})
        chips.append(chip)
    return chips


def same_names_on_one_parent(tree: FakeSysfs) -> list[FakeChip]:
    """Add a Mellanox Spectrum switch ASIC and two line cards: three hwmon devices named "mlxsw" on one PCI device."""
    # Equal names cannot tell them apart, so node_exporter 1.12 suffixes the hwmonN directory
    # ("..._hwmon0"); our API ids stay lm-sensors-like: mlxsw-pci-0300, ~2, ~3 in device-path order.
    # sensors (the same name three times):
    #   mlxsw-pci-0300               Adapter: PCI adapter
    #   fan1:         6000 RPM
    #   temp1:        +46.0°C  (highest = +48.0°C)
    #   front panel 001:  +35.0°C  (crit = +70.0°C, emerg = +75.0°C)
    #   mlxsw-pci-0300 ... linecard#01 gearbox 001: +40.0°C, linecard#01 front panel 001: +33.0°C
    #   mlxsw-pci-0300 ... linecard#02 gearbox 001: +41.0°C, linecard#02 front panel 001: +34.0°C
    pci = f"{_PCH}/0000:00:01.0/0000:03:00.0"
    tree.add_device(pci, subsystem="bus/pci", driver="mlxsw_spectrum2")
    asic = tree.add_chip("mlxsw", device=pci)
    asic.write_all({"fan1_input": 6000, "fan1_fault": 0, "pwm1": 153,
                    "temp1_input": 46000, "temp1_highest": 48000,
                    "temp2_label": "front panel 001", "temp2_input": 35000, "temp2_highest": 36000,
                    "temp2_crit": 70000, "temp2_emergency": 75000, "temp2_fault": 0})
    chips = [asic]
    for card in (1, 2):
        chip = tree.add_chip("mlxsw", device=pci)
        chip.write_all({"temp1_label": f"linecard#{card:02d} gearbox 001", "temp1_input": 39000 + 1000 * card,
                        "temp1_highest": 42000,
                        "temp2_label": f"linecard#{card:02d} front panel 001", "temp2_input": 32000 + 1000 * card,
                        "temp2_crit": 70000, "temp2_emergency": 75000, "temp2_fault": 0})
        chips.append(chip)
    return chips


def _i2c_1(tree: FakeSysfs) -> str:
    """Return the Raspberry Pi's i2c-1 adapter, creating it once."""
    path = "platform/soc/fe804000.i2c/i2c-1"
    if not (tree.root / "devices" / path).exists():
        tree.add_i2c_adapter(1, "bcm2835 (i2c@7e804000)")
    return path


FIXTURES = {
    "coretemp": coretemp_dual_socket,
    "nvme": nvme_two_drives,
    "acpitz": acpitz,
    "nct6798": nct6798,
    "amdgpu": amdgpu,
    "raspberry_pi": raspberry_pi,
    "ds18b20": ds18b20,
    "sht3x": sht3x,
    "ina219": ina219,
    "it87_old_layout": it87_old_layout,
    "it87_board": it87_board,
    "no_name": no_name,
    "several_on_one_parent": several_on_one_parent,
    "duplicate_labels": duplicate_labels,
    "broken": broken,
    "nct6779": nct6779,
    "asus_nb_wmi": asus_nb_wmi,
    "wifi_phy": wifi_phy,
    "same_names_on_one_parent": same_names_on_one_parent,
}


def build_zoo(root: Path | str, names: tuple[str, ...] = tuple(FIXTURES)) -> FakeSysfs:
    """Build one tree holding the named fixtures (all by default)."""
    tree = FakeSysfs(root)
    for name in names:
        if name == "raspberry_pi" and "acpitz" in names:
            continue  # both own thermal_zone0; a machine has one or the other
        FIXTURES[name](tree)
    return tree
