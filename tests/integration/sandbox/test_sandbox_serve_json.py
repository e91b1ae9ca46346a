"""`release sandbox serve --json` announces itself as one JSON line a script can read."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_serve_json_announces_url_and_credentials(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--port", "0", "--db", str(tmp_path / "s.db"),
                             "--app-version", "9.9.9", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["url"].startswith("http://127.0.0.1:") and info["client_id"] == "release-gate"
        assert httpx.get(f"{info['url']}/api/version", timeout=10).json()["version"] == "9.9.9"
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0, "SIGTERM stops the sandbox cleanly"
