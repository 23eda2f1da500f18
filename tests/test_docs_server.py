"""`make docs-serve`: the docs are served on loopback only, as files, readable without the internet."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from dbv_pipeline.assurance.checks import validate_raw
from dbv_pipeline.docs_server import ASSETS_DIR, ASSETS_URL, fetch_assets, serve
from dbv_pipeline.ingest import ingest_landing
from tests.conftest import placement, write_csv


def test_a_docs_folder_is_served_on_loopback(tmp_path):
    (tmp_path / "index.html").write_text("<html>dbt docs</html>", encoding="utf-8")
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")
    server = serve(tmp_path, 0)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        assert requests.get(f"http://127.0.0.1:{port}/index.html", timeout=10).text == "<html>dbt docs</html>"
        assert (
            requests.get(f"http://127.0.0.1:{port}/manifest.json", timeout=10).json() == {}
        )  # what index.html fetches
    finally:
        server.shutdown()


CHROMIUM = Path("/usr/bin/chromium")


def rendered_dom(url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran, in headless Chromium that can reach loopback only."""
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium is not installed (/usr/bin/chromium)")
@pytest.mark.skipif(shutil.which("npm") is None and not ASSETS_DIR.is_dir(), reason="npm is not installed")
def test_gx_data_docs_render_offline_when_served(data_paths, tmp_path):
    """A real Data Docs site, served: its index table is drawn by its scripts with no internet (the
    CDN addresses point at the fetched packages); opened as a file, offline, it stays empty."""
    write_csv(data_paths.landing / "869_placements_2024-25.csv", [placement(), placement("C0002")])
    ingest_landing(data_paths)
    validate_raw(data_paths, "placements")
    site = data_paths.reports / "data_docs"
    fetch_assets()
    server = serve(site, 0)
    try:
        port = server.server_address[1]
        served = requests.get(f"http://127.0.0.1:{port}/index.html", timeout=10).text
        assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?://', served)
        dom = rendered_dom(f"http://127.0.0.1:{port}/index.html", tmp_path / "profile")
        assert 'data-index="0"' in dom and "placements" in dom  # the validations table, drawn by bootstrap-table
        page = re.search(r'href="(validations/[^"]+\.html)"', dom)
        assert page and requests.get(f"http://127.0.0.1:{port}/{page.group(1)}", timeout=10).ok
        assert (
            requests.get(f"http://127.0.0.1:{port}{ASSETS_URL}%2e%2e/%2e%2e/pyproject.toml", timeout=10).status_code
            == 404
        )
    finally:
        server.shutdown()
    assert 'data-index="0"' not in rendered_dom((site / "index.html").as_uri(), tmp_path / "profile2")
