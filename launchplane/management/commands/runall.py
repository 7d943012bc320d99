"""``python manage.py runall [--host H --port P --sweep-interval S]``: the whole app in one terminal (``make run``).

Runs the three processes Launchplane needs — the web server (``runserver``), the task worker
(``db_worker``, which executes verification runs) and the sweeper (``sweep --loop``, which also queues
the scheduled runs) — with their output interleaved, each line prefixed with its name. Ctrl-C (or
SIGTERM/SIGHUP) stops all three; if one exits on its own, the others are stopped and the command fails
with its status. In production they are separate services (docs/operations.md), not this.

Why a management command of ours rather than honcho and a Procfile: it is about a hundred lines with no
new dependency, it starts each process in a process group of its own, so stopping one also stops the
children it forks (``runserver`` and ``db_worker`` run under Django's autoreloader, a parent and a
child), and its stopping rules are tested (tests/test_demo_runtime.py).

The environment is passed through unchanged (``make run`` sets ``DEBUG=1 DEMO_RUNTIME=1``), with
``PYTHONUNBUFFERED=1`` so lines arrive as they are written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

POLL_SECONDS = 0.1
GRACE_SECONDS = 10.0  # after SIGTERM, before SIGKILL
COLOURS = ("32", "36", "35", "33", "34")  # green, cyan, magenta, yellow, blue


@dataclass(frozen=True)
class Process:
    name: str
    argv: Sequence[str]


class Stop(Exception):
    """A signal asked the supervisor to stop everything."""


class Supervisor:
    """Start ``processes``, copy their output line by line with a prefix, and stop them all together.

    ``run`` returns 0 when stopped by Ctrl-C or a signal, else the exit status of the process that ended
    first (1 if that status was 0 or negative: none of them is meant to end), and ``ended`` says which and
    how. ``write`` receives each finished line, prefix included.
    """

    def __init__(
        self,
        processes: Sequence[Process],
        *,
        write: Callable[[str], None],
        colour: bool = False,
        env: dict[str, str] | None = None,
        grace_seconds: float = GRACE_SECONDS,
    ) -> None:
        self.processes = list(processes)
        self._write = write
        self._lock = threading.Lock()
        self._width = max(len(process.name) for process in [*self.processes, Process("runall", ())])
        self._colours = {p.name: COLOURS[i % len(COLOURS)] for i, p in enumerate(self.processes)} if colour else {}
        self._env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
        self._grace = grace_seconds
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.ended = ""  # "sweep exited with status 3", when one ended on its own
        self._readers: list[threading.Thread] = []

    # -- output ---------------------------------------------------------------------------------------

    def say(self, name: str, line: str) -> None:
        prefix = f"{name:<{self._width}} |"
        colour = self._colours.get(name, "1" if self._colours else "")
        if colour:
            prefix = f"\x1b[{colour}m{prefix}\x1b[0m"
        with self._lock:
            self._write(f"{prefix} {line}")

    def _copy(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(name, raw.decode("utf-8", errors="replace").rstrip("\r\n"))
        stream.close()

    # -- lifecycle ------------------------------------------------------------------------------------

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
        try:
            try:
                self._start_all()
                name, status = self._wait_for_one()
            except (KeyboardInterrupt, Stop) as reason:
                self.say("runall", f"{'Ctrl-C' if isinstance(reason, KeyboardInterrupt) else reason}: stopping")
                self.stop()
                return 0
            self.ended = f"{name} {how_it_ended(status)}"
            self.say("runall", f"{self.ended}; stopping the others")
            self.stop()
            return status if status > 0 else 1
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        raise Stop(signal.Signals(signum).name)

    def _start_all(self) -> None:
        for process in self.processes:
            child = subprocess.Popen(
                list(process.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self._env,
                process_group=0,  # its own group: stopping it stops what it forked, and Ctrl-C reaches us
            )
            self.children[process.name] = child
            assert child.stdout is not None
            reader = threading.Thread(target=self._copy, args=(process.name, child.stdout), daemon=True)
            reader.start()
            self._readers.append(reader)
            self.say("runall", f"started {process.name} (pid {child.pid}): {' '.join(process.argv)}")

    def _wait_for_one(self) -> tuple[str, int]:
        while True:
            for name, child in self.children.items():
                status = child.poll()
                if status is not None:
                    self._drain(timeout=1.0)
                    return name, status
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        """SIGTERM to every process group, SIGKILL to whatever is left after the grace period (or at a
        second Ctrl-C); returns when all of them have exited."""
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self._grace
        try:
            while any(child.poll() is None for child in self.children.values()):
                if time.monotonic() > deadline:
                    late = [name for name, child in self.children.items() if child.poll() is None]
                    self.say("runall", f"{', '.join(late)} did not stop in {self._grace:g} s; killing")
                    break
                time.sleep(POLL_SECONDS)
        except (KeyboardInterrupt, Stop):
            self.say("runall", "killing")
        self._signal_all(signal.SIGKILL)  # also whatever a stopped process left behind in its group
        for child in self.children.values():
            child.wait()
        self._drain(timeout=2.0)
        self.say("runall", "all stopped")

    def _signal_all(self, sig: signal.Signals) -> None:
        for child in self.children.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
                os.killpg(child.pid, sig)

    def _drain(self, timeout: float) -> None:
        """Let the readers copy what is still in the pipes before the next message."""
        deadline = time.monotonic() + timeout
        for reader in self._readers:
            reader.join(max(deadline - time.monotonic(), 0))


def how_it_ended(status: int) -> str:
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


def launchplane_processes(*, host: str, port: int, sweep_interval: float) -> list[Process]:
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    return [
        Process("web", [*manage, "runserver", f"{host}:{port}"]),
        Process("worker", [*manage, "db_worker"]),
        Process("sweep", [*manage, "sweep", "--loop", "--interval", f"{sweep_interval:g}"]),
    ]


class Command(BaseCommand):
    help = (
        "Run the web server, the task worker and the sweeper together, output prefixed; Ctrl-C stops all "
        "three and if one exits the others are stopped (make run). Not for production."
    )
    requires_system_checks: list[str] = []  # each process runs its own checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address runserver listens on.")
        parser.add_argument("--port", type=int, default=8000, help="Port runserver listens on.")
        parser.add_argument("--sweep-interval", type=float, default=2.0, help="Seconds between sweeps.")

    def handle(self, *args: Any, host: str, port: int, sweep_interval: float, **options: Any) -> None:
        if sweep_interval <= 0:
            raise CommandError("--sweep-interval must be a positive number of seconds.")

        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        supervisor = Supervisor(
            launchplane_processes(host=host, port=port, sweep_interval=sweep_interval),
            write=write,
            colour=self.stdout.isatty() and not options.get("no_color"),
        )
        status = supervisor.run()
        if status:
            raise CommandError(f"{supervisor.ended}; stopped the others.", returncode=status)
