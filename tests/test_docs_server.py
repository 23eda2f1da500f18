"""`make docs-serve`: the docs are served on loopback only, as files, readable without the internet."""

from __future__ import annotations

import requests

from dbv_pipeline.docs_server import serve


def test_a_docs_folder_is_served_on_loopback(tmp_path):
    (tmp_path / "index.html").write_text("<html>dbt docs</html>", encoding="utf-8")
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")
    server = serve(tmp_path, 0)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        assert requests.get(f"http://127.0.0.1:{port}/index.html", timeout=10).text == "<html>dbt docs</html>"
        assert requests.get(f"http://127.0.0.1:{port}/manifest.json", timeout=10).json() == {}  # what index.html fetches
    finally:
        server.shutdown()
