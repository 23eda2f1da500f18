"""The real dagster-webserver serves the project's asset graph over HTTP (loopback only)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
QUERY = "{ assetNodes { assetKey { path } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webserver_serves_the_asset_graph(tmp_path):
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DBV_DATA_DIR": str(tmp_path / "data")}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        nodes = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                reply = requests.post(f"{url}/graphql", json={"query": QUERY}, timeout=10).json()
                nodes = reply.get("data", {}).get("assetNodes")
                if nodes:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        assert nodes, (
            f"no asset graph from the webserver: {server.stderr.read().decode()[-2000:] if server.poll() is not None else 'timed out'}"
        )
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert {"raw/placements", "raw/hnb_spend", "raw/dsg_plan", "raw/mitigations"} <= keys
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_definitions_validate(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DBV_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
