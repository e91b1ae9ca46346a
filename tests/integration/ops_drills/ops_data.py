"""Helpers of the operations-drill tests: the migrate command, data-set facts, the project's release.toml."""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

RECORDS = 300
VERSION, RC = "1.1.0", 1
MIGRATE = f"{sys.executable} -m sandbox migrate --db {{db}}"


@dataclass(frozen=True)
class DataSet:
    """A seeded sandbox database and facts about it read with SQLite's own JSON functions (not the drill's)."""

    path: Path
    records: int
    deaths_with_date: int
    registration_numbers: int


def facts(path: Path) -> DataSet:
    """Count what the drill will be asked about, independently of the drill's code."""
    with sqlite3.connect(path) as conn:
        records = conn.execute("SELECT count(*) FROM event").fetchone()[0]
        deaths = conn.execute("""SELECT count(*) FROM event WHERE type = 'death'
                                 AND json_extract(declaration, '$."eventDetails.date"') IS NOT NULL""").fetchone()[0]
        numbers = conn.execute("SELECT count(DISTINCT registration_number) FROM event").fetchone()[0]
    return DataSet(path, records, deaths, numbers)


def project_toml(gates: str) -> str:
    """Two targets whose identity is a command (no server needed) and the gates under test."""
    return f'''[targets.staging]
gateway = "http://127.0.0.1:9"
identity = {{ command = "echo {VERSION}-rc.{RC}" }}

[targets.production]
gateway = "http://127.0.0.1:9"
identity = {{ command = "echo 1.0.0" }}

{gates}'''
