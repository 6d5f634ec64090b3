"""Starts the real ``amp serve`` from the binary named by AMP_BIN on a free
loopback port with a fresh data directory, and runs its admin CLI against
the same directory."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from typing import Dict, Optional


def skip_reason() -> Optional[str]:
    """Why the real-server tests cannot run here, or None when they can."""
    bin = os.environ.get("AMP_BIN")
    if not bin:
        return (
            "AMP_BIN is not set: build the server (go build -o /tmp/amp ./cmd/amp) "
            "and set AMP_BIN=/tmp/amp to run these tests"
        )
    if not os.path.exists(bin):
        return f"AMP_BIN={bin} does not exist"
    return None


def _clean_env() -> Dict[str, str]:
    """The binary's environment: AMP_* of the test run (a Postgres URL, say) must not leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AMP_")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealServer:
    def __init__(self, bin: str) -> None:
        self.bin = bin
        self.data_dir = tempfile.mkdtemp(prefix="amp-sdk-py-")
        port = _free_port()
        self.origin = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.origin}/v1"
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [bin, "serve", "--addr", f"127.0.0.1:{port}", "--data", self.data_dir],
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        # Readiness: poll /healthz, at most 30 s, failing early if it exits.
        for _ in range(600):
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.origin}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        output = self.output()
        self.stop()
        raise RuntimeError(f"amp serve did not become healthy on port {port}:\n{output}")

    def output(self) -> str:
        """What the server printed so far, for failure messages."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def cli(self, *args: str) -> str:
        """Runs ``amp <args…> --data DIR`` and returns its stdout, stripped."""
        r = subprocess.run(
            [self.bin, *args, "--data", self.data_dir], env=_clean_env(), capture_output=True, text=True, timeout=60
        )
        if r.returncode != 0:
            raise RuntimeError(f"amp {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r.stdout.strip()

    def create_account(self, name: str, plan: str) -> str:
        return self.cli("accounts", "create", "--name", name, "--plan", plan)

    def create_key(self, account: str, *extra: str) -> str:
        return self.cli("keys", "create", "--account", account, "--mode", "test", *extra)

    def pause(self) -> None:
        """Freezes the process: the kernel still accepts connections, nothing answers.

        The signal takes effect asynchronously; on Linux this waits until
        the process is seen stopped, so that a busy machine cannot let a
        request through in between.
        """
        self.proc.send_signal(signal.SIGSTOP)
        stat = f"/proc/{self.proc.pid}/stat"
        deadline = time.monotonic() + 5
        while os.path.exists(stat) and time.monotonic() < deadline:
            with open(stat) as f:
                # The state follows the parenthesised command name.
                if f.read().rpartition(")")[2].split()[0] in ("T", "t"):
                    return
            time.sleep(0.001)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)
