"""Real mail servers for the mailbox tests: Debian's Dovecot (IMAP) started with its own
configuration in a temporary directory, and an aiosmtpd SMTP peer that records what it receives.

Dovecot's login process refuses to run as root, so it runs as the system's ``dovecot`` and
``dovenull`` users; mail is stored as ``dovecot`` in a Maildir under the temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psutil

DOVECOT = Path("/usr/sbin/dovecot")
USER = "mayor@bengbu.gov.cn"
PASSWORD = "test-mailbox-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def why_no_dovecot() -> str | None:
    """None when Dovecot can run here, else the reason (shown by the skip)."""
    if not DOVECOT.exists():
        return f"{DOVECOT} is missing: `make test-deps` installs Debian's dovecot-imapd (needs root and apt)"
    if os.geteuid() != 0:
        return "Dovecot's test instance must be started as root (it drops to the dovecot/dovenull users)"
    for user in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"the system user {user!r} is missing (it comes with the dovecot-core package)"
    return None


CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%n
mail_fsync = never
imap_idle_notify_interval = 1 secs
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
"""


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@dataclass
class Dovecot:
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD

    @classmethod
    def start(cls) -> Dovecot:
        root = Path(tempfile.mkdtemp(prefix="hl-dovecot-"))
        root.chmod(0o755)  # the imap process (user dovecot) reaches its Maildir through it
        port = free_port()
        dovecot = pwd.getpwnam("dovecot")
        (root / "mail").mkdir()
        os.chown(root / "mail", dovecot.pw_uid, dovecot.pw_gid)
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (root / "dovecot.conf").write_text(CONF.format(root=root, port=port, uid=dovecot.pw_uid))
        process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop_process kills every process of it
        )
        server = cls(root, port, process)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = server.log()
                server.stop()
                raise RuntimeError(f"dovecot exited with {process.returncode}: {log}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return server
            except OSError:
                time.sleep(0.05)
        server.stop()
        raise RuntimeError("dovecot did not answer within 10 s")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def maildir(self) -> Path:
        return self.root / "mail" / USER.split("@")[0]

    def restart(self) -> None:
        """Start again after ``stop_process`` (same port, same mail); returns once it answers."""
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop_process kills every process of it
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not come back within 10 s")

    def stop_process(self) -> None:
        """Kill the master and its processes (imap processes outlive a stopped master): every
        client connection drops at once, as when a server dies. A throwaway server needs no grace."""
        processes = []
        with contextlib.suppress(psutil.Error):
            processes = [*psutil.Process(self.process.pid).children(recursive=True)]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the master and all it started, at once
        for child in processes:  # any that left the group
            with contextlib.suppress(psutil.Error):
                child.kill()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in processes) and time.monotonic() < deadline:
            time.sleep(0.01)  # killed: they are gone once the kernel says so (a zombie is gone)

    def stop(self) -> None:
        self.stop_process()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class SmtpPeer:
    """What an aiosmtpd server on loopback received."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    host: str = "127.0.0.1"
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        async with self.arrived:
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 OK"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.messages) >= count), timeout)
        return list(self.messages)
