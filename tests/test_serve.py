"""`scripts/serve` as a person runs it: a real gunicorn on a free port, against a fresh instance."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own server)
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_serve_on_another_port_prints_qr_codes_that_point_at_that_port(tmp_path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("FARMTRACE_BASE_URL", "FARMTRACE_DATABASE_URL")}
    env["FARMTRACE_INSTANCE"] = str(tmp_path / "instance")
    server = subprocess.Popen([str(ROOT / "scripts" / "serve"), "--port", str(port), "--workers", "1",
                               "--threads", "2"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        page = _get(f"http://127.0.0.1:{port}/batches/plot-nj-0/certificate", time.monotonic() + 25)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, stderr = server.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in page and "127.0.0.1:5000" not in page
    assert f"QR codes point at http://127.0.0.1:{port}" in stderr
