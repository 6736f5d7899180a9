"""`hems run` serves the API and the web app over https with its own certificate, with HSTS."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time

import httpx

from tests.adapters.openadr.certs import make_pki
from tests.adapters.openadr.vtn_peer import free_port


def test_hems_run_serves_https_with_hsts(tmp_path):
    ca_file, server, _ = make_pki(tmp_path)  # the "VTN" party: a server cert for 127.0.0.1
    trust = ssl.create_default_context(cafile=str(ca_file))
    port = free_port()
    env = {
        **os.environ,
        "HEMS_STATE_DIR": str(tmp_path / "state"),
        "HEMS_API_TLS_CERT_FILE": str(server.cert_file),
        "HEMS_API_TLS_KEY_FILE": str(server.key_file),
        "HEMS_PLANNER_PROCESSES": "0",
        "COLUMNS": "200",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "hems.cli", "run", "--demo", "--no-dsrsp", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        banner = "".join(proc.stdout.readline() for _ in range(3))
        assert f"https://127.0.0.1:{port}" in banner
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/health", verify=trust)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the API did not listen within 60 s"
                time.sleep(0.3)
        assert answer.status_code == 200
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        page = httpx.get(f"https://127.0.0.1:{port}/app/login", verify=trust)
        assert "strict-transport-security" in page.headers
        # plain http on the TLS port is no way in
        try:
            plain = httpx.get(f"http://127.0.0.1:{port}/health")
            assert plain.status_code >= 400
        except httpx.TransportError:
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
