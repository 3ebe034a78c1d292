"""Apache Kafka for the lab: jars from Maven Central, one KRaft node, its topics."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from string import Template

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from cqrs_lab.stack.errors import StackError
from services.shared.settings import LabSettings
from services.shared.topics import ensure_topics

logger = logging.getLogger(__name__)

INFRA = Path(__file__).resolve().parents[2] / "infra" / "kafka"
MIN_JAVA = 17


def java_major(java: str) -> int:
    """The major version of a `java` executable."""
    result = subprocess.run([java, "-version"], capture_output=True, text=True,
                            check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if not match:
        return 0
    major = int(match.group(1))
    # Java 8 and older call themselves 1.x.
    return int(match.group(2) or 0) if major == 1 else major


def check_java() -> str:
    """The path of a Java 17+ runtime, or a StackError saying how to get one."""
    java = shutil.which("java")
    if java is None:
        raise StackError(
            "Java was not found on PATH; Kafka 4 needs Java 17 or newer.",
            "install it with `apt-get install openjdk-17-jre-headless` "
            "(or `conda install openjdk=17`), then run `cqrs-lab up` again",
        )
    major = java_major(java)
    if major < MIN_JAVA:
        raise StackError(
            f"Java {major} was found at {java}; Kafka 4 needs Java 17 or newer.",
            "install OpenJDK 17 and put it first on PATH",
        )
    return java


def new_cluster_id() -> str:
    """A random KRaft cluster id, as Kafka's `random-uuid` prints one."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # Kafka never hands out an id that reads as a command-line option.
        if not text.startswith("-"):
            return text


class Kafka:
    """Resolves, configures, formats and describes the lab's Kafka broker."""

    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings
        self.home = settings.state_dir / "kafka"
        self.pom = INFRA / "pom.xml"

    @property
    def jars(self) -> Path:
        """The cached classpath folder, named after the pom's content."""
        digest = hashlib.sha1(self.pom.read_bytes()).hexdigest()[:12]
        return self.settings.cache_dir / f"kafka-jars-{digest}"

    def ensure_jars(self) -> Path:
        """Downloads the broker's jars once; later calls reuse the cache."""
        done = self.jars / ".complete"
        if done.exists():
            return self.jars
        self.check_maven()
        self._copy_dependencies()
        done.touch()
        return self.jars

    def check_maven(self) -> None:
        """Raises a StackError when the jars must be fetched and Maven is missing."""
        if (self.jars / ".complete").exists() or shutil.which("mvn"):
            return
        raise StackError(
            "Maven (`mvn`) was not found; the lab uses it once to fetch "
            "Kafka's jars from Maven Central.",
            "install it with `apt-get install maven` (or `conda install "
            "maven`), then run `cqrs-lab up` again",
        )

    def _copy_dependencies(self) -> None:
        partial = self.jars.with_name(self.jars.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        command = [
            "mvn", "-B", "-q", "-f", str(self.pom),
            "dependency:copy-dependencies", "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ]
        result = subprocess.run(command, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
            raise StackError(
                "Maven could not download Kafka's jars from Maven Central.",
                "check the network and proxy settings for Maven "
                "(~/.m2/settings.xml), then run `cqrs-lab up` again",
                (result.stdout + result.stderr)[-3000:],
            )
        shutil.rmtree(self.jars, ignore_errors=True)
        partial.rename(self.jars)

    def write_config(self) -> Path:
        """Writes server.properties for the lab's host, ports and folders."""
        s = self.settings
        template = Template((INFRA / "server.properties.template").read_text())
        text = template.substitute(
            host=s.host, port=s.kafka_port,
            controller_port=s.kafka_controller_port,
            log_dirs=self.home / "data", partitions=s.kafka_partitions,
        )
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / "server.properties"
        path.write_text(text)
        return path

    def ensure_formatted(self, java: str, config: Path) -> None:
        """Formats the storage folder once with a new cluster id."""
        if (self.home / "data" / "meta.properties").exists():
            return
        classpath = f"{self.jars}/*"
        self._run_tool(java, classpath, [
            "format", "-t", new_cluster_id(), "-c", str(config),
            "--ignore-formatted",
        ])

    def _run_tool(self, java: str, classpath: str, args: list[str]) -> str:
        command = [java, "-cp", classpath, "kafka.tools.StorageTool", *args]
        result = subprocess.run(command, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise StackError(
                f"Kafka's storage tool failed ({' '.join(args[:1])}).",
                "`cqrs-lab reset` wipes Kafka's data and starts afresh",
                (result.stdout + result.stderr)[-3000:],
            )
        return result.stdout

    @property
    def class_archive(self) -> Path:
        """The broker's class-data archive, written at its first clean exit."""
        return self.home / "classes.jsa"

    def command(self, java: str, config: Path) -> list[str]:
        """The broker's command line, with a bounded heap."""
        heap = self.settings.kafka_heap
        # Loading classes from an archive the JVM wrote at an earlier exit
        # took warm starts of the lab from 10 s to 7-8 s on two cores. A
        # stale or damaged archive is only ignored, with a warning in the
        # log, until `cqrs-lab reset` removes it.
        archive = ([f"-XX:SharedArchiveFile={self.class_archive}"]
                   if self.class_archive.exists() else
                   # Writing it lists every class it leaves out: not news.
                   [f"-XX:ArchiveClassesAtExit={self.class_archive}",
                    "-Xlog:cds=error"])
        return [
            java, f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC",
            # C1 only: the broker starts seconds sooner on two cores, and a
            # teaching lab's load never needs C2's peak throughput.
            "-XX:TieredStopAtLevel=1", *archive,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={INFRA / 'log4j2.yaml'}",
            "-cp", f"{self.jars}/*", "kafka.Kafka", str(config),
        ]

    async def ready(self) -> bool:
        """True once the broker answers a metadata request."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.bootstrap_servers,
            request_timeout_ms=3000,
        )
        try:
            await admin.start()
            await admin.list_topics()
        except (KafkaError, OSError, TimeoutError):
            return False
        finally:
            await admin.close()
        return True

    async def ensure_topics(self) -> list[str]:
        """Creates the lab's topics that are missing; returns their names."""
        return await ensure_topics(self.settings.bootstrap_servers,
                                   self.settings.kafka_partitions)
