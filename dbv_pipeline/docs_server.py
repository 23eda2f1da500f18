"""Serve the analysts' documentation on loopback: dbt docs (models, columns, lineage) and GX Data Docs
(validation results). ``python -m dbv_pipeline.docs_server`` (``make docs-serve``); Ctrl-C stops it.

dbt's docs read their manifest and catalog with requests that a page opened from a file cannot make;
served, they work offline. (``make docs`` also writes ``static_index.html``, which opens from a file.)
GX Data Docs load their styles and scripts from CDNs: served here, each comes instead from its npm
package, fetched once from the npm registry into ``.cache/data_docs_assets`` (``make docs`` runs
``--fetch-assets``), so the pages work offline too.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import subprocess
import tarfile
import tempfile
import threading
import urllib.parse
from pathlib import Path

from .settings import DBT_PROJECT_DIR, PROJECT_ROOT, DataPaths

ASSETS_DIR = PROJECT_ROOT / ".cache" / "data_docs_assets"
ASSETS_URL = "/_assets/"
# The CDN addresses in GX's Data Docs templates → the same file in an npm package (package@version/path).
CDN_FILES = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/": "bootstrap@4.3.1/dist/",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/": "bootstrap@4.3.1/dist/",
    "https://unpkg.com/bootstrap-table@1.19.1/": "bootstrap-table@1.19.1/",
    "https://unpkg.com/bootstrap-table@1.19.0/": "bootstrap-table@1.19.1/",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/": "bootstrap-datepicker@1.9.0/dist/",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/": "@forevolve/bootstrap-dark@1.1.0/",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/": "popper.js@1.12.9/dist/",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/": "@fortawesome/fontawesome-free@6.6.0/",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega@5/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite@5/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed@6/build/vega-embed.min.js",
}


def package_specs() -> list[str]:
    """The npm packages the Data Docs need (``name@version`` as the CDN addresses pin them)."""
    return sorted({"/".join(target.split("/")[: 2 if target.startswith("@") else 1]) for target in CDN_FILES.values()})


def fetch_assets(folder: Path = ASSETS_DIR, specs: list[str] | None = None) -> list[str]:
    """Download each package (``specs``, default ``package_specs()``) once (``npm pack``: the tarball
    alone, no dependencies) and unpack it to ``folder/<name>@<version>``; the packages fetched. The
    accessibility test fetches axe-core this way too."""
    missing = [spec for spec in (package_specs() if specs is None else specs) if not (folder / spec).is_dir()]
    if not missing:
        return []
    if shutil.which("npm") is None:
        raise RuntimeError(f"npm is not installed: cannot fetch {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in missing:
            subprocess.run(
                ["npm", "pack", "--silent", "--pack-destination", tmp, spec],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=300,
            )
            [tarball] = Path(tmp).glob("*.tgz")
            target = folder / spec
            with tarfile.open(tarball) as archive:
                archive.extractall(Path(tmp) / "unpacked", filter="data")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(Path(tmp) / "unpacked" / "package", target)
            shutil.rmtree(Path(tmp) / "unpacked")
            tarball.unlink()
    return missing


def offline_html(html: str) -> str:
    """A Data Docs page with its CDN addresses pointing at the served packages."""
    for cdn, target in sorted(CDN_FILES.items(), key=lambda item: -len(item[0])):
        html = html.replace(cdn, ASSETS_URL + target)
    return html


class DocsHandler(http.server.SimpleHTTPRequestHandler):
    """Files of one folder; ``/_assets/`` from the fetched packages, and HTML with CDN addresses local."""

    def translate_path(self, path: str) -> str:
        if path.startswith(ASSETS_URL):
            relative = urllib.parse.unquote(path.removeprefix(ASSETS_URL).split("?", 1)[0].split("#", 1)[0])
            target = (ASSETS_DIR / relative).resolve()
            return str(target if target.is_relative_to(ASSETS_DIR.resolve()) else ASSETS_DIR / "not-found")
        return super().translate_path(path)

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix != ".html" or not path.is_file():
            return super().do_GET()
        body = offline_html(path.read_text(encoding="utf-8")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(folder: Path, port: int, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """Serve ``folder`` read-only over HTTP on ``host:port`` (0: any free port) in a background thread."""
    handler = functools.partial(DocsHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dbt-port", type=int, default=8080, help="port of the dbt docs")
    parser.add_argument("--gx-port", type=int, default=8081, help="port of the GX Data Docs")
    parser.add_argument(
        "--fetch-assets",
        action="store_true",
        help=f"only fetch the Data Docs' styles and scripts from the npm registry into {ASSETS_DIR}",
    )
    args = parser.parse_args(argv)
    if args.fetch_assets:
        try:
            fetched = fetch_assets()
        except (RuntimeError, subprocess.SubprocessError) as error:
            print(f"GX Data Docs will show unstyled: {error}")
            return 2
        print(f"GX Data Docs assets: {len(fetched)} packages fetched" if fetched else "GX Data Docs assets: present")
        return 0
    sites = [
        ("dbt docs", DBT_PROJECT_DIR / "target", "index.html", args.dbt_port),
        ("GX Data Docs", DataPaths.from_env().reports / "data_docs", "index.html", args.gx_port),
    ]
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
