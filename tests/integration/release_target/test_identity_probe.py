"""The identity probe asks a real HTTP server (or runs a real command) the way the target's identity spec says."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from release.config import load_config
from release.workflow.target import parse_image_record, probe_identity
from tests.conftest import free_port

pytestmark = pytest.mark.integration


class _Gateway(BaseHTTPRequestHandler):
    """/ping with X-Version (as OpenCRVS's gateway), /bare without it, /build with a nested JSON version."""

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._answer(200, {"success": True}, {"X-Version": "2.0.0"})
        elif self.path == "/bare":
            self._answer(200, {"success": True}, {})
        elif self.path == "/build":
            self._answer(200, {"build": {"version": "1.2.0-rc.1"}}, {})
        else:
            self._answer(404, {"error": "not found"}, {})

    def _answer(self, status: int, body: object, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", **headers}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def target(tmp_path: Path, gateway: str, identity: str = "") -> object:
    path = tmp_path / "release.toml"
    path.write_text(f'[targets.qa]\ngateway = "{gateway}"\n{identity}\n'
                    '[gates.checks]\nkind = "command"\ntarget = "qa"\nrun = "true"\njunit = "j.xml"\n')
    return load_config(path).targets["qa"]


def test_default_probe_reads_the_gateways_x_version_header_on_ping(tmp_path, gateway):
    seen = probe_identity(target(tmp_path, gateway)).identity
    assert seen is not None and seen.version == "2.0.0"
    assert seen.how == f"X-Version header of GET {gateway}/ping"


def test_a_header_that_is_not_there_is_no_identity(tmp_path, gateway):
    result = probe_identity(target(tmp_path, gateway, 'identity = { header = "X-Version", path = "/bare" }'))
    assert result.identity is None and "without a X-Version header" in result.problem


def test_json_probe_reads_a_dotted_key(tmp_path, gateway):
    seen = probe_identity(target(tmp_path, gateway, 'identity = { json = "/build", key = "build.version" }')).identity
    assert seen is not None and seen.version == "1.2.0-rc.1" and "key 'build.version'" in seen.how
    missing = probe_identity(target(tmp_path, gateway, 'identity = { json = "/build", key = "version" }'))
    assert missing.identity is None and "no string at key 'version'" in missing.problem
    gone = probe_identity(target(tmp_path, gateway, 'identity = { json = "/nothing" }'))
    assert gone.identity is None and "answered 404" in gone.problem


def test_command_probe_takes_the_first_line_of_stdout_and_sees_the_target(tmp_path, gateway):
    script = tmp_path / "which_build.py"
    script.write_text("import os\nprint('  ' + os.environ['RELEASE_TARGET_GATEWAY'].rsplit(':', 1)[1])\n"
                      "print('ignored')\n")
    seen = probe_identity(target(tmp_path, gateway, f'identity = {{ command = "{sys.executable} {script}" }}')).identity
    assert seen is not None and seen.version == gateway.rsplit(":", 1)[1]


def test_a_failing_or_hanging_command_is_no_identity(tmp_path, gateway):
    failing = f'identity = {{ command = "{sys.executable} -c \'import sys; sys.exit(3)\'" }}'
    result = probe_identity(target(tmp_path, gateway, failing))
    assert result.identity is None and "exited 3" in result.problem
    hanging = f'identity = {{ command = "{sys.executable} -c \'import time; time.sleep(30)\'", timeout_s = 0.5 }}'
    result = probe_identity(target(tmp_path, gateway, hanging))
    assert result.identity is None and "did not finish within 0.5s" in result.problem


def test_an_unreachable_gateway_is_no_identity(tmp_path):
    result = probe_identity(target(tmp_path, f"http://127.0.0.1:{free_port()}"), timeout=1)
    assert result.identity is None and "ConnectError" in result.problem


def test_the_deploy_hooks_image_lines_are_its_record():
    output = ("deployed 1.2.0-rc.1\nRELEASE_IMAGE_CORE=ghcr.io/opencrvs/ocrvs-core:v2.0.0\n"
              "  RELEASE_IMAGE_COUNTRYCONFIG = ignored\nRELEASE_IMAGE_COUNTRYCONFIG=ghcr.io/x/farajaland:abc123\n"
              "RELEASE_IMAGE_=nothing\n")
    assert parse_image_record(output) == {"core": "ghcr.io/opencrvs/ocrvs-core:v2.0.0",
                                          "countryconfig": "ghcr.io/x/farajaland:abc123"}
