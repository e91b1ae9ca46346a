"""Fuzzed release.toml files, committed in a real prepared repository: no traceback, and nothing changes.

Four sources of documents: random TOML (valid TOML, random tables of random values, keys often the real ones);
the init template with random edits (keys deleted, values swapped for other types, hostile texts in [report] and
the ref formats, unknown keys, deep nesting); the template's bytes damaged (cut, spliced, non-UTF-8, nested
thousands of levels, duplicated keys); and the template with texts the loader accepts but prepare cannot use
(report texts over 64 KiB once rendered, ref formats git refuses once the version is in).

For each, `release version`, `release prepare --dry-run` and `release status` must exit 0, 1 or 2 with no
traceback, exit 2 whenever the loader refuses the file, and leave every git ref and every ledger row as it was.
load_config itself must raise nothing but ConfigError, and a file that loads but whose [report] texts do not
render within 64 KiB must already fail the dry run (exit 2).

Examples are derandomized (the same ones on every run, so CI failures replay) and counted: this module runs 240.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from release.config import load_config
from release.errors import ConfigError
from tests.integration.release_fuzz.fuzzkit import (
    FreshRepos,
    assert_clean_outcome,
    mangled_bytes,
    mutated_templates,
    plain_templates,
    random_documents,
)

pytestmark = pytest.mark.integration

#: The read-only commands every document goes through.
COMMANDS = (("version",), ("prepare", "--dry-run"), ("status",))


def fuzz_settings(examples: int) -> settings:
    """Derandomized, no deadline (a git call takes what it takes), no example database (nothing kept between runs)."""
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


#: What prepare promises of a [report] text once rendered (release.templating.MAX_TEXT_BYTES), written out here so
#: that the oracle below does not lean on the code under test.
REPORT_BOUND = 64 * 1024
SAMPLE = {"version": "1.1.0", "previous_version": "1.0.0", "tag": "v1.1.0-rc.1", "commit": "f" * 40}


def loads_cleanly(path: Path) -> tuple[bool, bool]:
    """(loads, renders): whether the loader accepts the file (refusing only with a ConfigError; anything else
    propagates), and whether each [report] text, filled in, stays within REPORT_BOUND bytes."""
    try:
        config = load_config(path)
    except ConfigError as refused:
        assert refused.exit_code == 2
        return False, False
    texts = (config.report.risk, config.report.impact, config.report.implementation_plan, config.report.backout_plan)
    # the loader allows bare {name} placeholders only, so str.format is a faithful (if unbounded) reference here
    return True, all(len(text.format(**SAMPLE).encode()) <= REPORT_BOUND for text in texts)


def check_document(fresh_repos: FreshRepos, data: bytes) -> None:
    repo = fresh_repos()
    repo.commit_config(data)
    valid, renders = loads_cleanly(repo.path / "release.toml")
    before = repo.state()
    for args in COMMANDS:
        outcome = repo.run(args)
        assert_clean_outcome(outcome, args)
        if not valid:
            assert outcome.exit_code == 2, (args, outcome.stdout, outcome.stderr)
            assert outcome.stderr.startswith("error: ") and "release.toml" in outcome.stderr, outcome.stderr
        elif not renders and "prepare" in args:  # the dry run renders the texts before it plans a single write
            assert outcome.exit_code == 2, (outcome.stdout, outcome.stderr)  # (or refuses a ref name before that)
            assert "report." in outcome.stderr or " name " in outcome.stderr, outcome.stderr
        assert repo.state() == before, f"release {' '.join(args)} changed refs or ledger (exit {outcome.exit_code})"


def run_counted(fresh_repos: FreshRepos, strategy: st.SearchStrategy[bytes], examples: int) -> None:
    seen: list[int] = []

    @fuzz_settings(examples)
    @given(data=strategy)
    def fuzz(data: bytes) -> None:
        seen.append(len(data))
        check_document(fresh_repos, data)

    fuzz()
    assert len(seen) >= examples  # hypothesis ran them all: the CI count is real


def test_random_toml_documents_are_refused_cleanly(fresh_repos):
    run_counted(fresh_repos, random_documents().map(lambda text: text.encode("utf-8")), 50)


def test_edited_init_templates_never_crash_and_never_write(fresh_repos):
    run_counted(fresh_repos, mutated_templates().map(lambda text: text.encode("utf-8")), 100)


def test_loadable_texts_that_cannot_render_or_name_a_ref_fail_the_dry_run(fresh_repos):
    run_counted(fresh_repos, plain_templates().map(lambda text: text.encode("utf-8")), 40)


def test_damaged_template_bytes_are_a_config_error(fresh_repos):
    run_counted(fresh_repos, mangled_bytes(), 50)
