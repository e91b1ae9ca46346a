"""The standing regression suite: pytest tests that drive a CRVS target over HTTP and a browser.

Run it with `python -m pytest regression --crvs-target PROFILE.json` from a checkout, or with
`release regression run --target-file PROFILE.json` (which runs it as a subprocess).
"""

from pathlib import Path

SUITE_DIR = Path(__file__).resolve().parent
SUITE_INI = SUITE_DIR / "suite.ini"
SUMMARY_SCHEMA = "crvs-release/regression-summary/1"
MARKERS = {
    "smoke": "a small subset that runs in under two minutes against a real staging",
    "registration": "record lifecycles: create, declare, register, print, reject, archive, history",
    "search": "search by tracking ID, registration number, names, dates, status, flags; pagination and sort",
    "security": "authentication and permissions: 401 and 403 where they belong",
    "integrity": "validation, idempotency, unique registration numbers, fields kept intact",
    "browser": "the web client driven by Playwright in Debian's Chromium",
}
