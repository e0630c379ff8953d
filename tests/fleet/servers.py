"""Private, throwaway redis-server and PostgreSQL servers for the fleet tests and benchmarks.

Each server runs from the OS packages (`apt-get install redis-server postgresql`) on its own
loopback port with its data in a fresh temporary directory, without persistence, and is
stopped (and its directory removed) by `stop()`. PostgreSQL refuses to run as root, so as
root its cluster is created and run as the `postgres` user the package creates.

`Missing` means the binaries (or the Python client) are not installed: the fixtures skip with
its message, or fail the run under `CI=true`. `StartFailed` means they are installed but the
server did not come up.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_START_TIMEOUT = 30.0  # seconds a server gets to accept connections (a loaded CI machine)


class Missing(RuntimeError):
    """The server's binaries are not installed here."""


class StartFailed(RuntimeError):
    """The server is installed but did not start."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartFailed(f"exited with {process.returncode}: {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    process.kill()
    raise StartFailed(f"did not accept connections in {_START_TIMEOUT}s: {_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


class RedisServer:
    """`redis-server` on 127.0.0.1:`port`, nothing saved to disk."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise Missing(
                "redis-server is not installed: `apt-get install redis-server` "
                "(Debian/Ubuntu) or `brew install redis`"
            )
        self.directory = Path(tempfile.mkdtemp(prefix="l0-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        log = self.directory / "redis.log"
        command = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(log),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        try:
            _wait_for_port(self.port, self.process, log)
        except StartFailed:
            self.stop()
            raise

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian keeps it off PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for directory in reversed(candidates):
        if Path(directory, "initdb").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).parent
    raise Missing(
        "PostgreSQL is not installed: `apt-get install postgresql` (Debian/Ubuntu) "
        "or `brew install postgresql`"
    )


class PostgresServer:
    """A fresh PostgreSQL cluster on 127.0.0.1:`port`, user `l0`, trust authentication.

    Durability is switched off (fsync, synchronous_commit: the data is thrown away anyway)
    unless `durable` (benchmarks compare it with a SQLite file that syncs).
    """

    def __init__(self, *, durable: bool = False) -> None:
        bin_dir = postgres_bin_dir()
        self.directory = Path(tempfile.mkdtemp(prefix="l0-postgres-"))
        self._user: str | None = None
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise StartFailed("running as root, and there is no `postgres` user") from exc
            self._user = "postgres"
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self.port = free_port()
        self.url = f"postgresql://l0@127.0.0.1:{self.port}/postgres"
        data = self.directory / "data"
        log = self.directory / "postgres.log"
        initdb = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "l0", "--auth=trust",
             "-E", "UTF8", "--no-sync", "--locale=C"],
            user=self._user, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if initdb.returncode != 0:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise StartFailed(f"initdb failed: {initdb.stderr[-2000:]}")
        command = [
            str(bin_dir / "postgres"), "-D", str(data),
            "-p", str(self.port),
            "-k", str(self.directory),  # its unix socket lives here, not in /var/run
            "-c", "listen_addresses=127.0.0.1",
            "-c", "max_connections=200",
        ]  # fmt: skip
        if not durable:
            command += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                        "-c", "full_page_writes=off"]  # fmt: skip
        with open(log, "wb") as output:
            if self._user is not None:
                os.chown(log, pwd.getpwnam(self._user).pw_uid, -1)
            self.process = subprocess.Popen(
                command,
                user=self._user,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_port(self.port, self.process, log)
            self._wait_until_ready(bin_dir, log)
        except StartFailed:
            self.stop()
            raise

    def _wait_until_ready(self, bin_dir: Path, log: Path) -> None:
        """The port opens before the cluster accepts sessions ("the database system is
        starting up"): ask pg_isready until it says yes."""
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            if self.process.poll() is not None:
                raise StartFailed(f"exited with {self.process.returncode}: {_tail(log)}")
            time.sleep(0.05)
        raise StartFailed(f"not ready in {_START_TIMEOUT}s: {_tail(log)}")

    def _children(self) -> list[int]:
        """The postmaster's children (backends, checkpointer, ...): each in its own session,
        so a signal to the postmaster's group does not reach them."""
        found = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat.rpartition(")")[2].split()[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def pause(self) -> None:
        """Freeze the postmaster and every backend (SIGSTOP): connections stay open, nothing
        answers."""
        self.process.send_signal(signal.SIGSTOP)  # first: it starts no one new
        for pid in self._children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self._children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.process.send_signal(signal.SIGCONT)

    def database_url(self, name: str) -> str:
        return f"postgresql://l0@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.resume()
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
