"""Check every internal link (and #anchor) of the built site with linkchecker.

    python scripts/check_links.py [_build/html]

Serves the HTML on 127.0.0.1 (a free port) and crawls it from index.html. Only URLs on that server
are fetched: linkchecker checks internal URLs only unless told `--check-extern`, and on top of that
every URL not on the local server is matched by `--ignore-url`, so it is only syntax-checked.
The server sends a `LinkChecker` header, which lifts linkchecker's politeness limit of ~3
requests per second per host (fine for our own throwaway server).
Exit status: linkchecker's (0 = no broken links and no warnings).
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("LinkChecker", "local test server")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # linkchecker may drop a connection early (it has what it needs): not an error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main(argv: list[str]) -> int:
    site = Path(argv[1]) if len(argv) > 1 else ROOT / "_build" / "html"
    if not (site / "index.html").is_file():
        print(f"error: {site}/index.html not found; build the book first", file=sys.stderr)
        return 2
    linkchecker = shutil.which("linkchecker") or str(Path(sys.executable).parent / "linkchecker")
    handler = functools.partial(Handler, directory=str(site))
    server = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "linkcheckerrc"
        config.write_text(
            "[checking]\nthreads=4\nmaxrequestspersecond=200\n"
            "[filtering]\ncheckextern=0\n"
            "[AnchorCheck]\n"
        )
        config.chmod(0o644)
        Path(tmp).chmod(0o755)  # linkchecker drops root privileges to `nobody`
        cmd = [
            linkchecker,
            "--config",
            str(config),
            "--no-status",
            "--ignore-url",
            "^(?!" + re.escape(base) + ")",
            base + "index.html",
        ]
        print("+", " ".join(cmd), flush=True)
        try:
            return subprocess.call(cmd)
        finally:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
