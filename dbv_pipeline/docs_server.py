"""Serve the analysts' documentation on loopback: dbt docs (models, columns, lineage) and GX Data Docs
(validation results). ``python -m dbv_pipeline.docs_server`` (``make docs-serve``); Ctrl-C stops it.

dbt's docs read their manifest and catalog with requests that a page opened from a file cannot make;
served, they work offline. (``make docs`` also writes ``static_index.html``, which opens from a file.)
"""

from __future__ import annotations

import argparse
import functools
import http.server
import threading
from pathlib import Path

from .settings import DBT_PROJECT_DIR, DataPaths


def serve(folder: Path, port: int, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """Serve ``folder`` read-only over HTTP on ``host:port`` (0: any free port) in a background thread."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dbt-port", type=int, default=8080, help="port of the dbt docs")
    parser.add_argument("--gx-port", type=int, default=8081, help="port of the GX Data Docs")
    args = parser.parse_args(argv)
    sites = [("dbt docs", DBT_PROJECT_DIR / "target", "index.html", args.dbt_port),
             ("GX Data Docs", DataPaths.from_env().reports / "data_docs", "index.html", args.gx_port)]
    servers = []
    for name, folder, page, port in sites:
        if not (folder / page).exists():
            print(f"{name}: nothing at {folder / page} yet (dbt docs: make docs; GX: make demo or a run)")
            continue
        servers.append(serve(folder, port))
        print(f"{name}: http://127.0.0.1:{port}/{page}")
    if not servers:
        return 2
    print("Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    for server in servers:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
