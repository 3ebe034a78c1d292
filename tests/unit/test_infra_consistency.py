"""The Docker, conda and Kafka files agree with the settings and parts list."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.shared.parts import PARTS, TOPICS, Part
from services.shared.settings import LabSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "infra" / "docker-compose.yml"
ENVIRONMENT = ROOT / "environment.yml"
PYPROJECT = ROOT / "pyproject.toml"
KAFKA_TEMPLATE = ROOT / "infra" / "kafka" / "server.properties.template"

# A published port: optional host address, ${VAR:-default}, container port.
PUBLISHED = re.compile(
    r"^(?:(?P<address>[\d.]+):)?"
    r"\$\{(?P<var>\w+):-(?P<default>\d+)\}:(?P<container>\d+)$"
)

# Keys a single-node KRaft broker cannot start or serve clients without;
# the replication factors matter because one node cannot hold three copies.
KRAFT_KEYS = (
    "process.roles",
    "node.id",
    "controller.quorum.voters",
    "listeners",
    "advertised.listeners",
    "controller.listener.names",
    "listener.security.protocol.map",
    "log.dirs",
)
ONE_NODE_VALUES = {
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "group.initial.rebalance.delay.ms": "0",
}

SERVICE_PARTS = [p for p in PARTS if p.kind == "service"]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """The `services` mapping of the compose file."""
    return yaml.safe_load(COMPOSE.read_text())["services"]


@pytest.fixture(scope="module")
def environment() -> dict[str, Any]:
    """The parsed conda environment file."""
    return yaml.safe_load(ENVIRONMENT.read_text())


def _published(service: dict[str, Any]) -> re.Match[str]:
    """The one published port of a compose service, parsed."""
    ports = service.get("ports", [])
    assert len(ports) == 1, f"expected one published port, got {ports}"
    match = PUBLISHED.match(str(ports[0]))
    assert match, f"{ports[0]!r} is not 127.0.0.1:${{VAR:-default}}:port"
    return match


def _default_port(part: Part) -> int:
    """The port the settings give a part when no variable is set."""
    return LabSettings.model_fields[part.port_setting].default


def _requirement_name(requirement: str) -> str:
    """A requirement's project name, normalised as in PEP 503."""
    name = re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _properties(text: str) -> dict[str, str]:
    """The key=value lines of a Java properties file, comments skipped."""
    pairs = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pairs[key.strip()] = value.strip()
    return pairs


def test_compose_runs_exactly_the_parts_plus_the_topic_creator(
    services: dict[str, Any],
) -> None:
    """Compose service names are the part names and `kafka-init`."""
    assert set(services) == {p.name for p in PARTS} | {"kafka-init"}


@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.name)
def test_compose_publishes_every_part_on_its_settings_port(
    services: dict[str, Any], part: Part
) -> None:
    """The host port is the part's variable, defaulting to its settings port."""
    match = _published(services[part.name])
    assert match["var"] == part.env_var
    assert int(match["default"]) == _default_port(part)


@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.name)
def test_compose_publishes_ports_on_loopback_only(
    services: dict[str, Any], part: Part
) -> None:
    """Nothing in the lab, dev password included, is exposed to the network."""
    assert _published(services[part.name])["address"] == "127.0.0.1"


@pytest.mark.parametrize("part", SERVICE_PARTS, ids=lambda p: p.name)
def test_each_service_container_listens_on_its_default_port(
    services: dict[str, Any], part: Part
) -> None:
    """Container port, --port and /health check all use the default port."""
    service = services[part.name]
    port = _default_port(part)
    assert int(_published(service)["container"]) == port
    command = service["command"]
    assert command[:4] == ["python", "-m", "services", part.name]
    assert command[command.index("--port") + 1] == str(port)
    probe = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/health" in probe


@pytest.mark.parametrize("part", SERVICE_PARTS, ids=lambda p: p.name)
def test_each_service_reaches_its_peers_by_compose_name(
    services: dict[str, Any], part: Part
) -> None:
    """Services get every peer's host and port under the settings' names."""
    env = services[part.name]["environment"]
    assert env["CQRS_LAB_HOST"] == "0.0.0.0"
    assert env["CQRS_LAB_POSTGRES_HOST"] == "postgres"
    assert env["CQRS_LAB_KAFKA_BOOTSTRAP"] == "kafka:9092"
    for peer in SERVICE_PARTS:
        assert env[f"CQRS_LAB_{peer.name.upper()}_HOST"] == peer.name
        assert env[peer.env_var] == str(_default_port(peer))
    fields = LabSettings.model_fields
    for variable in env:
        field = variable.removeprefix("CQRS_LAB_").lower()
        assert field in fields, f"{variable} is not a LabSettings field"


@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.name)
def test_every_part_has_a_healthcheck(
    services: dict[str, Any], part: Part
) -> None:
    """Each part says how compose can tell that it is ready."""
    assert services[part.name]["healthcheck"]["test"]


@pytest.mark.parametrize("part", SERVICE_PARTS, ids=lambda p: p.name)
def test_each_service_waits_for_healthy_stores_and_created_topics(
    services: dict[str, Any], part: Part
) -> None:
    """Services start only after PostgreSQL is ready and topics exist."""
    depends_on = services[part.name]["depends_on"]
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["kafka-init"]["condition"] == (
        "service_completed_successfully"
    )
    for name, rule in depends_on.items():
        assert "condition" in rule, f"{part.name} -> {name} has no condition"


def test_topic_creator_waits_for_a_healthy_broker(
    services: dict[str, Any],
) -> None:
    """kafka-init runs against a broker that already answers."""
    depends_on = services["kafka-init"]["depends_on"]
    assert depends_on == {"kafka": {"condition": "service_healthy"}}


def test_topic_creator_creates_exactly_the_lab_topics(
    services: dict[str, Any],
) -> None:
    """kafka-init's topic list is parts.TOPICS, created idempotently."""
    init = services["kafka-init"]
    assert init["environment"]["LAB_TOPICS"].split() == list(TOPICS)
    script = " ".join(init["command"])
    assert "$$LAB_TOPICS" in script
    for flag in ("--create", "--if-not-exists", "--partitions"):
        assert flag in script
    partitions = LabSettings.model_fields["kafka_partitions"].default
    assert init["environment"]["LAB_PARTITIONS"] == str(partitions)


def test_kafka_template_has_every_kraft_key() -> None:
    """The native broker's template configures a complete one-node KRaft."""
    properties = _properties(KAFKA_TEMPLATE.read_text())
    missing = [key for key in KRAFT_KEYS if key not in properties]
    assert not missing, f"missing KRaft keys: {missing}"
    for key, value in ONE_NODE_VALUES.items():
        assert properties.get(key) == value, f"{key} should be {value}"


def test_compose_kafka_matches_the_templates_one_node_values(
    services: dict[str, Any],
) -> None:
    """The Docker broker sets the same one-node values as the native one."""
    env = services["kafka"]["environment"]
    for key, value in ONE_NODE_VALUES.items():
        variable = "KAFKA_" + key.replace(".", "_").upper()
        assert str(env.get(variable)) == value, f"{variable} should be {value}"
    for key in KRAFT_KEYS:
        assert "KAFKA_" + key.replace(".", "_").upper() in env


def test_conda_environment_provides_the_native_tools(
    environment: dict[str, Any],
) -> None:
    """conda installs Python, Java, Maven and PostgreSQL from conda-forge."""
    assert environment["channels"] == ["conda-forge"]
    conda = {
        _requirement_name(entry.split("=")[0]): entry
        for entry in environment["dependencies"]
        if isinstance(entry, str)
    }
    for tool in ("python", "openjdk", "maven", "postgresql", "pip"):
        assert tool in conda, f"environment.yml lacks {tool}"
    assert conda["python"] == "python=3.11"


def test_conda_environment_installs_every_python_dependency(
    environment: dict[str, Any],
) -> None:
    """The pip section covers pyproject's dependencies and lab/test extras."""
    pip = next(
        entry["pip"]
        for entry in environment["dependencies"]
        if isinstance(entry, dict) and "pip" in entry
    )
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"]
    if any(re.fullmatch(r"-e\s+\.\[lab,\s*test\]", line) for line in pip):
        # Installing the project itself keeps pyproject the only list; the
        # extras it names must then exist there.
        assert {"lab", "test"} <= set(extras)
        return
    wanted = project["dependencies"] + extras["lab"] + extras["test"]
    installed = {_requirement_name(line) for line in pip}
    missing = {_requirement_name(r) for r in wanted} - installed
    assert not missing, f"environment.yml misses {sorted(missing)}"
