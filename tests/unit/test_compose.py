"""Every container any compose file starts keeps a bounded log (a device's flash card is small)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# Every compose file of the repository: the stack, its overlays, the tests' own.
COMPOSE_FILES = sorted([*REPO.glob("compose*.yaml"), *(REPO / "tests" / "integration").glob("compose*.yaml")])


class ComposeLoader(yaml.SafeLoader):
    """YAML as Compose reads it: its `!reset` and `!override` tags keep the value they tag."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


ComposeLoader.add_multi_constructor("!", _untagged)


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=ComposeLoader)  # noqa: S506  # SafeLoader's subclass


LOGGING = load(REPO / "compose.yaml")["x-logging"]
# Every service some file starts a container for (compose.yaml's; compose.fleet.yaml's Prometheus...).
STARTED = {name for path in COMPOSE_FILES for name, service in (load(path).get("services") or {}).items()
           if "build" in service or "image" in service}


def test_the_stack_bounds_its_logs_by_size_and_count():
    assert LOGGING["driver"] == "json-file"
    assert LOGGING["options"]["max-size"] == "5m" and LOGGING["options"]["max-file"] == "3"
    assert len(COMPOSE_FILES) >= 9  # the glob finds them all (6 at the top, 3 of the tests')


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: str(path.relative_to(REPO)))
def test_every_service_of_every_compose_file_rotates_its_log(path):
    services = load(path).get("services") or {}
    for name, service in services.items():
        if "build" in service or "image" in service:  # a container this file starts
            assert service.get("logging") == LOGGING, f"{path.name}: {name} has no bounded log (x-logging)"
        else:  # an overlay of a service another file starts: it keeps that one's log settings
            assert name in STARTED, f"{path.name}: {name} starts no container and overlays none"
            assert service.get("logging", LOGGING) == LOGGING, f"{path.name}: {name} changes its log settings"
