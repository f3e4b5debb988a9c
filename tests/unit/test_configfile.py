"""The TOML configuration file, read into the settings: defaults, the example, one clear line for every mistake."""
import dataclasses
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "services" / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

from frostserver.config import ConfigError, Settings, load_settings  # noqa: E402
from frostserver.config.id_patterns import compile_id_pattern  # noqa: E402

EXAMPLE = APP / "frostserver.example.toml"

W1_GOOD = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
W1_BAD_CRC = "72 01 4b 46 7f ff 0e 10 57 : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"


def load_sensor_config(path) -> Settings:
    """Load the settings as the app does, with FROST_CONFIG naming this file."""
    return load_settings({"FROST_CONFIG": "" if path is None else str(path)})


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "frostserver.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_sensor_config(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message[len(f"{path}: "):]


@pytest.mark.parametrize("path", [None, ""])
def test_no_file_gives_the_defaults(path):
    config = load_sensor_config(path)

    assert config == Settings(max_streams=Settings().threads - 16)
    assert config.config is None
    assert (config.sample_interval, config.ring_seconds) == (1.0, 900.0)
    assert config.frost_threshold == 0.0
    assert config.sensors == ()
    assert config.sensor_overrides.is_empty


def test_an_empty_file_gives_the_defaults_with_its_path(tmp_path):
    path = write_config(tmp_path, "# nothing yet\n")

    config = load_sensor_config(path)

    assert config.config == path
    assert dataclasses.replace(config, config=None) == load_sensor_config(None)


def test_the_example_file_loads_and_says_what_it_documents():
    config = load_sensor_config(EXAMPLE)

    assert config.frost_threshold == 0.5
    assert [spec.key for spec in config.sensors] == ["w1_garden", "iio_board", "gpu", "co2"]
    w1, iio, gpu, co2 = config.sensors
    assert (w1.kind, w1.unit, w1.scale, w1.interval, w1.timeout) == ("temperature", "°C", 0.001, 10.0, None)
    assert w1.regex.search(W1_GOOD).group(1) == "23125"
    assert w1.regex.search(W1_BAD_CRC) is None
    assert iio.file == "/sys/bus/iio/devices/iio:device0/in_temp_input"
    assert iio.interval == config.sample_interval
    assert gpu.command[0] == "nvidia-smi" and gpu.timeout == 3.0
    assert (co2.unit, co2.offset, co2.timeout) == ("ppm", -20.0, 5.0)
    assert [p.glob for p in config.sensor_overrides.include] == ["coretemp-*/temp*", "nvme-pci-*/*", "sht3x-*/*",
                                                                 "config/*", "derived/*/*"]
    assert config.sensor_overrides.relabel["coretemp-isa-0000/temp1"] == "CPU package"
    assert dict(config.sensor_overrides.thresholds[0].limits) == {"max": 85.0, "crit": 95.0}
    (pair,) = config.derived
    assert (pair.name, pair.temperature, pair.humidity, pair.label) == ("garden", "config/w1_garden",
                                                                        "sht3x-i2c-1-44/humidity1", "Garden")
    assert [p.glob for p in config.forecast.sensors] == ["config/w1_garden"]
    assert (config.forecast.window, config.forecast.min_data, config.forecast.lead_time) == (3600, 900, 10800)
    (expected,) = [rule for rule in config.alerts.rules if rule.name == "frost_expected"]
    assert expected.hold == 900 and expected.forecast


def test_a_full_sensor_table_is_parsed(tmp_path):
    path = write_config(tmp_path, """
        frost_threshold = -1.5
        [sampling]
        interval = 2
        history = 60
        [sensors.shed]
        command = ["/usr/bin/vendor-cli", "--temp"]
        regex = 'T=([0-9.]+)'
        scale = 0.5
        offset = -3
        kind = "temperature"
        label = "Shed"
        interval = 30
        timeout = 0.5
    """)

    config = load_sensor_config(path)

    assert config.frost_threshold == -1.5
    assert (config.sample_interval, config.ring_seconds) == (2.0, 60.0)
    (shed,) = config.sensors
    assert shed.sensor_id == "config/shed"
    assert shed.command == ("/usr/bin/vendor-cli", "--temp")
    assert shed.file is None
    assert shed.regex.pattern == "T=([0-9.]+)"
    assert (shed.scale, shed.offset, shed.label, shed.interval, shed.timeout) == (0.5, -3.0, "Shed", 30.0, 0.5)
    assert shed.unit == "°C"


def test_a_minimal_sensor_gets_defaults_from_its_key_and_the_sampling(tmp_path):
    path = write_config(tmp_path, '[sampling]\ninterval = 4\n[sensors.probe]\nfile = "/tmp/x"\n')

    (probe,) = load_sensor_config(path).sensors

    assert (probe.label, probe.kind, probe.unit, probe.scale, probe.offset) == ("probe", "other", "", 1.0, 0.0)
    assert probe.interval == 4.0
    assert probe.regex is None and probe.timeout is None


def test_a_sensor_interval_shorter_than_the_sampling_interval_is_raised_to_it(tmp_path):
    path = write_config(tmp_path, '[sampling]\ninterval = 5\n[sensors.probe]\nfile = "/tmp/x"\ninterval = 1\n')

    assert load_sensor_config(path).sensors[0].interval == 5.0


def test_the_config_is_frozen(tmp_path):
    config = load_sensor_config(EXAMPLE)

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.frost_threshold = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.sensor_overrides.relabel["x/y"] = "z"  # type: ignore[index]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '[sensors.garden]\nfile = "/x"\ntimeout = "fast"\n',
            "sensors.garden.timeout: only applies to 'command' sensors (a file read has no timeout)",
        ),
        (
            '[sensors.garden]\ncommand = ["/bin/true"]\ntimeout = "fast"\n',
            "sensors.garden.timeout: must be a number between 0.1 and 60, got 'fast'",
        ),
        (
            '[sensors.garden]\ncommand = ["/bin/true"]\ntimeout = 61\n',
            "sensors.garden.timeout: must be a number between 0.1 and 60, got 61",
        ),
        (
            '[sensors.w1_garden]\nfile = "/x"\nscale = "0.001"\n',
            "sensors.w1_garden.scale: must be a number, got '0.001'",
        ),
        (
            '[sensors.w1_garden]\nfile = "/x"\nscale = 0\n',
            "sensors.w1_garden.scale: must not be 0 (every reading would be 0)",
        ),
        (
            '[sensors.w1_garden]\nfile = "/x"\noffset = nan\n',
            "sensors.w1_garden.offset: must be a number, got nan",
        ),
        (
            '[sensors.w1_garden]\nfile = "/x"\nscael = 0.001\n',
            "sensors.w1_garden.scael: unknown key; did you mean 'scale'?",
        ),
        ('[sampeling]\ninterval = 2\n', "sampeling: unknown key; did you mean 'sampling'?"),
        ('[sampling]\ninterval = true\n', "sampling.interval: must be a number between 0.1 and 3600, got true"),
        ('[sampling]\ninterval = 0.05\n', "sampling.interval: must be a number between 0.1 and 3600, got 0.05"),
        ('[sampling]\nhistory = 5\n', "sampling.history: must be a number between 10 and 86400, got 5"),
        (
            '[sampling]\ninterval = 60\nhistory = 30\n',
            "sampling.history: must be at least sampling.interval (60), got 30",
        ),
        ('sampling = 1\n', "sampling: must be a table, got 1"),
        ('frost_threshold = "zero"\n', "frost_threshold: must be a number between -100 and 100, got 'zero'"),
        (
            '[sampling]\ninterval = 1\nfrost_threshold = 2\n',
            "sampling.frost_threshold: unknown key; frost_threshold is a top-level key and must "
            "come before the first [table]",
        ),
        ('[sensors.garden]\nkind = "temperature"\n',
         "sensors.garden: needs 'file' (a path to read) or 'command' (a program and its arguments, as a list)"),
        (
            '[sensors.garden]\nfile = "/x"\ncommand = ["/bin/cat", "/x"]\n',
            "sensors.garden: set either 'file' or 'command', not both",
        ),
        (
            '[sensors.garden]\nfile = "w1_slave"\n',
            "sensors.garden.file: must be an absolute path like '/sys/bus/w1/devices/28-0000/w1_slave', "
            "got 'w1_slave'",
        ),
        (
            '[sensors.cli]\ncommand = "vendor-cli --temp"\n',
            "sensors.cli.command: must be a list of strings (argv), not a string: commands never run "
            'through a shell; write command = ["vendor-cli", "--temp"]',
        ),
        (
            '[sensors.cli]\ncommand = "vendor-cli --temp | cut -c1-4"\n',
            "sensors.cli.command: must be a list of strings (argv), not a string: commands never run "
            "through a shell; put pipes, redirections and wildcards in a script and run that",
        ),
        (
            '[sensors.cli]\ncommand = []\n',
            "sensors.cli.command: must be a non-empty list of strings (the program, then its arguments), got []",
        ),
        (
            '[sensors.cli]\ncommand = ["vendor-cli", 3]\n',
            "sensors.cli.command: must be a non-empty list of strings (the program, then its arguments), "
            "got ['vendor-cli', 3]",
        ),
        (
            '[sensors.cli]\ncommand = ["bin/vendor-cli"]\n',
            "sensors.cli.command: the program must be an absolute path or a name found on PATH, got 'bin/vendor-cli'",
        ),
        (
            '[sensors.garden]\nfile = "/x"\nkind = "temp"\n',
            "sensors.garden.kind: must be one of current, energy, fan, frequency, humidity, intrusion, "
            "other, power, pwm, temperature, voltage, got 'temp'",
        ),
        (
            '[sensors.garden]\nfile = "/x"\nkind = "temprature"\n',
            "sensors.garden.kind: must be one of current, energy, fan, frequency, humidity, intrusion, "
            "other, power, pwm, temperature, voltage, got 'temprature'; did you mean 'temperature'?",
        ),
        (
            '[sensors.garden]\nfile = "/x"\nkind = "temperature"\nunit = "°F"\n',
            "sensors.garden.unit: a temperature is always in '°C' (convert with scale and offset), got '°F'",
        ),
        (
            '[sensors.garden]\nfile = "/x"\nlabel = ""\n',
            "sensors.garden.label: must be a one-line string of 1 to 64 characters, got ''",
        ),
        (
            '[sensors.garden]\nfile = "/x"\nregex = "t=(-?\\\\d+"\n',
            "sensors.garden.regex: invalid regular expression: missing ), unterminated subpattern at position 2",
        ),
        (
            '[sensors."my garden"]\nfile = "/x"\n',
            'sensors."my garden": a sensor key is 1 to 64 letters, digits, \'_\' or \'-\' '
            "(it becomes the id config/<key>)",
        ),
        ('[sensors]\ngarden = "/x"\n', "sensors.garden: must be a table, got '/x'"),
        ('[filter]\ninclude = "coretemp-*/*"\n',
         "filter.include: must be a list of patterns like [\"coretemp-*/temp*\"], got 'coretemp-*/*'"),
        (
            '[filter]\ninclude = ["coretemp-*/*", "nvme-*"]\n',
            "filter.include[1]: 'nvme-*' matches no sensor id: ids look like 'chip/channel' and '*' does "
            "not cross '/'; write e.g. 'nvme-*/*'",
        ),
        (
            '[filter]\nexclude = ["coretemp-*/temp[2-9"]\n',
            "filter.exclude[0]: bad pattern 'coretemp-*/temp[2-9': '[' at position 15 is never closed",
        ),
        ('[filter]\nexclude = [""]\n', "filter.exclude[0]: a pattern must not be empty"),
        ('[filter]\nexclude = ["a/b]"]\n', "filter.exclude[0]: bad pattern 'a/b]': ']' at position 3 closes no '['"),
        ('[filter]\nexclude = ["a/temp[9-1]"]\n', "filter.exclude[0]: bad pattern 'a/temp[9-1]': bad character range 9-1"),
        ('[filter]\nexlude = []\n', "filter.exlude: unknown key; did you mean 'exclude'?"),
        (
            '[sensors.garden]\nfile = "/x"\n[filter]\ninclude = ["coretemp-*/*"]\n',
            "filter.include: drops the declared sensor 'config/garden'; add 'config/*' to keep it",
        ),
        (
            '[sensors.indoor]\nfile = "/x"\n[filter]\nexclude = ["*/in*"]\n',
            "filter.exclude: '*/in*' drops the declared sensor 'config/indoor'; remove [sensors.indoor] instead",
        ),
        (
            '[relabel]\n"coretemp-*/temp1" = "CPU"\n',
            'relabel."coretemp-*/temp1": relabel takes exact sensor ids like \'coretemp-isa-0000/temp1\', not patterns',
        ),
        ('[relabel]\ntemp1 = "CPU"\n', "relabel.temp1: must be a whole sensor id like 'coretemp-isa-0000/temp1'"),
        ('[relabel]\n"coretemp-isa-0000/temp1" = 5\n',
         'relabel."coretemp-isa-0000/temp1": must be a one-line string of 1 to 64 characters, got 5'),
        (
            '[thresholds]\nmax = 85\n',
            "thresholds.max: must be a table like [thresholds.\"coretemp-*/temp1\"] with max = 85, got 85",
        ),
        (
            '[thresholds."coretemp-isa-0000/temp1"]\nmaxx = 85\n',
            'thresholds."coretemp-isa-0000/temp1".maxx: unknown key; did you mean \'max\'?',
        ),
        (
            '[thresholds."coretemp-isa-0000/temp1"]\nmax = "hot"\n',
            'thresholds."coretemp-isa-0000/temp1".max: must be a number, got \'hot\'',
        ),
        (
            '[thresholds."coretemp-isa-0000/temp1"]\n',
            'thresholds."coretemp-isa-0000/temp1": sets no threshold; use some of crit, emergency, lcrit, max, min',
        ),
        (
            '[thresholds."coretemp"]\nmax = 85\n',
            "thresholds.coretemp: 'coretemp' matches no sensor id: ids look like 'chip/channel' and '*' "
            "does not cross '/'; write e.g. 'coretemp/*'",
        ),
    ],
)
def test_each_mistake_is_one_line_naming_the_file_the_key_and_the_problem(tmp_path, text, message):
    assert config_error(tmp_path, text) == message


def test_a_toml_syntax_error_gives_its_line_and_column(tmp_path):
    message = config_error(tmp_path, '[sampling]\ninterval = 1\nhistory = \n')

    assert message == "invalid TOML: Invalid value (at line 3, column 11)"


def test_a_sensor_declared_twice_is_refused(tmp_path):
    text = '[sensors.garden]\nfile = "/a"\n\n[sensors.garden]\nfile = "/b"\n'

    message = config_error(tmp_path, text)

    assert message == "invalid TOML: Cannot declare ('sensors', 'garden') twice (at line 4, column 16)"


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "absent.toml"

    with pytest.raises(ConfigError) as raised:
        load_sensor_config(path)

    assert str(raised.value) == f"{path}: cannot read: No such file or directory"


def test_a_directory_is_not_a_config_file(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_sensor_config(str(tmp_path))

    assert str(raised.value) == f"{tmp_path}: cannot read: Is a directory"


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[sensors.garden]\nfile = "/x"\nlabel = "Gärten"\n'.encode("latin-1"))

    with pytest.raises(ConfigError) as raised:
        load_sensor_config(path)

    assert str(raised.value) == f"{path}: not UTF-8 text (bad byte on line 3)"


def test_a_huge_file_is_refused_before_parsing(tmp_path):
    path = write_config(tmp_path, "# " + "x" * (1024 * 1024) + "\n")

    with pytest.raises(ConfigError) as raised:
        load_sensor_config(path)

    assert str(raised.value) == f"{path}: larger than 1 MiB, not a FrostServer configuration"


def test_the_error_keeps_its_parts_for_callers(tmp_path):
    path = write_config(tmp_path, '[sampling]\ninterval = "often"\n')

    with pytest.raises(ConfigError) as raised:
        load_sensor_config(path)

    assert (raised.value.path, raised.value.key) == (str(path), "sampling.interval")
    assert raised.value.problem.startswith("must be a number")


@pytest.mark.parametrize(
    "glob, matching, not_matching",
    [
        ("coretemp-*/temp*", ["coretemp-isa-0000/temp1", "coretemp-isa-0001/temp12"], ["nvme-pci-0100/temp1"]),
        ("nvme-pci-*/*", ["nvme-pci-0100/temp1", "nvme-pci-0200/fan1"], ["nvme-pci-0100"]),
        ("*/temp?", ["a/temp1"], ["a/temp10", "a/b/temp1"]),
        ("config/w1_[!x]*", ["config/w1_garden"], ["config/w1_xmas", "config/w2_garden"]),
        ("a.b/c+d", ["a.b/c+d"], ["axb/c+d", "a.b/cd"]),
    ],
)
def test_id_patterns_match_whole_ids_and_stars_never_cross_a_slash(glob, matching, not_matching):
    pattern = compile_id_pattern(glob)

    assert all(pattern.matches(sensor_id) for sensor_id in matching)
    assert not any(pattern.matches(sensor_id) for sensor_id in not_matching)
