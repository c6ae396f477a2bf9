"""A throwaway PostgreSQL server for the test suite.

Stdlib only (plus psycopg for the readiness check and the helpers).  Every
:class:`ThrowawayPostgres` gets a brand-new data directory inside a fresh
temporary directory, a unix-socket directory inside that temp dir and a free
TCP port on 127.0.0.1, so it can never pick up a server that was left running.

Typical use from a test module / conftest::

    reason = ThrowawayPostgres.unavailable_reason()
    if reason:
        pytest.skip(reason)
    pg = ThrowawayPostgres()
    try:
        pg.start()
    except PostgresUnavailable as exc:      # binaries could not be installed
        pytest.skip(str(exc))
    ...
    pg.stop()

Binaries are taken from ``/usr/lib/postgresql/<highest version>/bin``.  When
they are missing and we run as root, the Debian ``postgresql`` package is
installed with apt-get.  initdb/pg_ctl refuse to run as root, so as root they
are run as the ``postgres`` OS user (created by the Debian package) through
``runuser`` (or ``su``), in a temp dir chowned to that user.
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

PG_ROOT = Path("/usr/lib/postgresql")
OS_USER = "postgres"  # OS account used when we are root
SUPERUSER = "postgres"  # database superuser created by initdb -U
READY_TIMEOUT = 30.0
APT_TIMEOUT = 900

SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_connections": "200",
}


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be had here; ``str(exc)`` is a one-line skip reason."""


class PostgresStartError(RuntimeError):
    """The binaries exist but the throwaway server failed to start."""


# --------------------------------------------------------------------------
# locating / installing the binaries


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", name)) or (-1,)


def find_bindir() -> Path | None:
    """Return ``/usr/lib/postgresql/<highest version>/bin`` or None."""
    try:
        candidates = [p for p in PG_ROOT.iterdir() if (p / "bin" / "initdb").is_file()]
    except OSError:
        return None
    if not candidates:
        return None
    return max(candidates, key=lambda p: _version_key(p.name)) / "bin"


def _one_line_tail(text: str, lines: int = 5) -> str:
    tail = [ln.strip() for ln in text.strip().splitlines() if ln.strip()][-lines:]
    return " | ".join(tail) if tail else "(no output)"


def _run_apt(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=APT_TIMEOUT,
        check=False,
    )


def _install_postgres() -> None:
    """apt-get install postgresql (apt-get update only if the first try fails)."""
    if shutil.which("apt-get") is None:
        raise PostgresUnavailable("PostgreSQL binaries missing and apt-get is not available to install them")
    install = ["apt-get", "install", "-y", "-q", "postgresql"]
    try:
        result = _run_apt(install)
        if result.returncode != 0:
            update = _run_apt(["apt-get", "update", "-q"])
            if update.returncode != 0:
                raise PostgresUnavailable(
                    f"apt-get update failed (exit {update.returncode}): {_one_line_tail(update.stdout)}"
                )
            result = _run_apt(install)
    except subprocess.TimeoutExpired:
        raise PostgresUnavailable(f"installing postgresql with apt-get timed out after {APT_TIMEOUT}s") from None
    except OSError as exc:
        raise PostgresUnavailable(f"could not run apt-get: {exc}") from None
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"apt-get install postgresql failed (exit {result.returncode}): {_one_line_tail(result.stdout)}"
        )


def _os_user_ids(name: str) -> tuple[int, int] | None:
    try:
        import pwd

        entry = pwd.getpwnam(name)
    except (ImportError, KeyError):
        return None
    return entry.pw_uid, entry.pw_gid


def ensure_bindir() -> Path:
    """Return the bin dir, installing the Debian package if root; else raise PostgresUnavailable."""
    bindir = find_bindir()
    if bindir is None:
        if not _is_root():
            raise PostgresUnavailable(
                f"PostgreSQL binaries not found under {PG_ROOT}/*/bin and not root, so cannot apt-get install postgresql"
            )
        _install_postgres()
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(f"apt-get installed postgresql but no {PG_ROOT}/*/bin/initdb appeared")
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (bindir / tool).is_file():
            raise PostgresUnavailable(f"{bindir / tool} is missing")
    if _is_root():
        if _os_user_ids(OS_USER) is None:
            raise PostgresUnavailable(f"running as root but there is no {OS_USER!r} OS user to run initdb as")
        if shutil.which("runuser") is None and shutil.which("su") is None:
            raise PostgresUnavailable("running as root but neither runuser nor su is available to drop privileges")
    return bindir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """Environment for the server tools: no PG* variables leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    return env


# --------------------------------------------------------------------------
# the server


class ThrowawayPostgres:
    """A private PostgreSQL cluster in a temp dir, on 127.0.0.1:<free port>."""

    def __init__(self) -> None:
        self.bindir: Path | None = None
        self.tmpdir: Path | None = None
        self.datadir: Path | None = None
        self.sockdir: Path | None = None
        self.logfile: Path | None = None
        self.port: int | None = None
        self._running = False
        self._as_root = _is_root()

    # -- availability -----------------------------------------------------

    @staticmethod
    def unavailable_reason() -> str | None:
        """None if a server can be started here (binaries present, or root so we can install)."""
        if find_bindir() is None:
            if not _is_root():
                return f"PostgreSQL binaries not found under {PG_ROOT}/*/bin (and not root, so cannot install them)"
            if shutil.which("apt-get") is None:
                return f"PostgreSQL binaries not found under {PG_ROOT}/*/bin and apt-get is not available"
            return None  # start() will apt-get install postgresql
        try:
            ensure_bindir()
        except PostgresUnavailable as exc:
            return str(exc)
        return None

    # -- command helpers ----------------------------------------------------

    def _cmd(self, argv: list[str]) -> list[str]:
        if not self._as_root:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", OS_USER, "--", *argv]
        return ["su", OS_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]

    def _run(self, argv: list[str], timeout: float = 120) -> tuple[int, str]:
        # Output goes to a temp file rather than a pipe: pg_ctl start leaves a
        # daemon behind, and a pipe it inherited would never reach EOF.
        with tempfile.TemporaryFile(mode="w+b") as out:
            try:
                proc = subprocess.run(
                    self._cmd(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=str(self.tmpdir) if self.tmpdir else None,
                    env=_clean_env(),
                    timeout=timeout,
                    check=False,
                )
                code = proc.returncode
            except subprocess.TimeoutExpired:
                code = -1
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
        if code == -1:
            text += f"\n(timed out after {timeout}s)"
        return code, text

    def _chown(self, path: Path) -> None:
        if self._as_root:
            ids = _os_user_ids(OS_USER)
            assert ids is not None
            os.chown(path, *ids)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            assert self.logfile is not None
            text = self.logfile.read_text(errors="replace")
        except (OSError, AssertionError):
            return "(no server log)"
        return "\n".join(text.strip().splitlines()[-lines:]) or "(empty server log)"

    # -- lifecycle ------------------------------------------------------------

    def _make_tmpdir(self) -> Path:
        bases = [None] if not self._as_root else [None, "/tmp"]
        for base in bases:
            path = Path(tempfile.mkdtemp(prefix="throwaway-pg-", dir=base))
            self._chown(path)
            if not self._as_root:
                return path
            # The postgres user must be able to reach it (e.g. TMPDIR=/root/tmp is not).
            self.tmpdir = path
            code, _ = self._run(["test", "-w", str(path)], timeout=30)
            self.tmpdir = None
            if code == 0:
                return path
            shutil.rmtree(path, ignore_errors=True)
        raise PostgresStartError(f"no temp dir usable by the {OS_USER!r} OS user")

    def _initdb(self) -> None:
        assert self.bindir and self.datadir
        base = [
            str(self.bindir / "initdb"),
            "-D", str(self.datadir),
            "-A", "trust",
            "-U", SUPERUSER,
            "--encoding=UTF8",
        ]
        out = ""
        for locale in ("C.UTF-8", "C"):
            code, out = self._run([*base, f"--locale={locale}"])
            if code == 0:
                return
            shutil.rmtree(self.datadir, ignore_errors=True)  # retry from scratch
        raise PostgresStartError(f"initdb failed:\n{out.strip()}")

    def start(self) -> None:
        """initdb a fresh cluster and start it; raises PostgresUnavailable / PostgresStartError."""
        if self._running:
            return
        self.bindir = ensure_bindir()
        self.tmpdir = self._make_tmpdir()
        atexit.register(self.stop)
        try:
            self.datadir = self.tmpdir / "data"
            self.sockdir = self.tmpdir / "sock"
            self.sockdir.mkdir()
            self._chown(self.sockdir)
            self.logfile = self.tmpdir / "server.log"
            self._initdb()
            self._start_server()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _start_server(self) -> None:
        assert self.bindir and self.datadir and self.sockdir and self.logfile
        out = ""
        for _attempt in range(3):  # the free port can be stolen between bind() and start
            self.port = _free_port()
            settings = dict(SERVER_SETTINGS, port=str(self.port), unix_socket_directories=str(self.sockdir))
            opts = " ".join(f"-c {k}={shlex.quote(v)}" for k, v in settings.items())
            code, out = self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D", str(self.datadir),
                    "-l", str(self.logfile),
                    "-o", opts,
                    "-w", "-t", str(int(READY_TIMEOUT)),
                    "start",
                ],
                timeout=READY_TIMEOUT + 30,
            )
            if code == 0:
                self._running = True
                return
            log = self._log_tail()
            # make sure nothing half-started is left behind before retrying / failing
            self._running = True
            self._shutdown_server()
            if "could not bind" not in log and "already in use" not in log:
                break
        raise PostgresStartError(f"pg_ctl start failed:\n{out.strip()}\n--- server log tail ---\n{self._log_tail()}")

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + READY_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.conninfo(), autocommit=True) as conn:
                    conn.execute("SELECT 1").fetchone()
                return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.2)
        raise PostgresStartError(
            f"server not accepting connections on 127.0.0.1:{self.port} after {READY_TIMEOUT:.0f}s: {last}\n"
            f"--- server log tail ---\n{self._log_tail()}"
        )

    def _postmaster_pid(self) -> int | None:
        try:
            assert self.datadir is not None
            first = (self.datadir / "postmaster.pid").read_text().splitlines()[0]
            return int(first.strip())
        except (OSError, IndexError, ValueError, AssertionError):
            return None

    def _shutdown_server(self) -> None:
        if not self._running:
            return
        self._running = False
        if self.bindir and self.datadir and self.datadir.exists():
            code, _ = self._run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30", "stop"],
                timeout=60,
            )
            if code == 0:
                return
        # pg_ctl could not stop it: signal the postmaster directly.
        pid = self._postmaster_pid()
        if pid is None:
            return
        for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            except PermissionError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (pg_ctl stop -m fast) and delete the temp dir.  Idempotent."""
        try:
            self._shutdown_server()
        finally:
            if self.tmpdir is not None:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                self.tmpdir = None
            atexit.unregister(self.stop)

    @property
    def running(self) -> bool:
        return self._running

    def __enter__(self) -> "ThrowawayPostgres":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- URLs and helpers -----------------------------------------------------

    def _require_port(self) -> int:
        if self.port is None:
            raise RuntimeError("ThrowawayPostgres has not been started")
        return self.port

    def url(self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None,
            driver: str = "postgresql+psycopg") -> str:
        """URL for ``user`` on ``dbname``; ``driver="postgresql"`` gives a libpq/psycopg URL."""
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        return f"{driver}://{auth}@127.0.0.1:{self._require_port()}/{quote(dbname, safe='')}"

    def superuser_url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL: ``postgresql+psycopg://postgres@127.0.0.1:PORT/DBNAME``."""
        return self.url(dbname)

    def conninfo(self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        """libpq URL usable with ``psycopg.connect``."""
        return self.url(dbname, user, password, driver="postgresql")

    def execute(self, sql: object, dbname: str = "postgres", params: object = None) -> list[tuple] | None:
        """Run one statement as the superuser in autocommit mode; return rows if it produced any."""
        import psycopg

        with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
            cur = conn.execute(sql, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description is not None else None

    def create_role(self, name: str, password: str | None = None, login: bool = True) -> None:
        from psycopg import sql

        stmt = sql.SQL("CREATE ROLE {} {}").format(sql.Identifier(name), sql.SQL("LOGIN" if login else "NOLOGIN"))
        if password is not None:
            stmt = sql.SQL("{} PASSWORD {}").format(stmt, sql.Literal(password))
        self.execute(stmt)

    def create_database(self, name: str, owner: str | None = None, template: str | None = None) -> None:
        from psycopg import sql

        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:  # a copy of `template`, which must have no open connections
            stmt = sql.SQL("{} TEMPLATE {}").format(stmt, sql.Identifier(template))
        if owner is not None:
            stmt = sql.SQL("{} OWNER {}").format(stmt, sql.Identifier(owner))
        self.execute(stmt)
