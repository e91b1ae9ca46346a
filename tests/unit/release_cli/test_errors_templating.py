"""User texts render through the sandboxed Jinja2 environment, never as template code, and within a size bound."""

from __future__ import annotations

import pytest

from release.config import ReportSettings
from release.errors import ConfigError
from release.templating import (
    MAX_TEXT_BYTES,
    TemplateRefused,
    TemplateTooLarge,
    _shape_template,
    render_bounded,
    render_text,
    template_env,
)

pytestmark = pytest.mark.unit

VALUES = {"version": "1.2.0", "previous_version": "1.1.0", "tag": "v1.2.0-rc.1", "commit": "abc123"}


@pytest.mark.parametrize(("text", "expected"), [
    ("Deploy {tag} ({commit}) over {previous_version}", "Deploy v1.2.0-rc.1 (abc123) over 1.1.0"),
    ("{{braces}} {version}", "{braces} 1.2.0"),
    # Jinja syntax in a user's text is text: it is data to the template, never compiled
    ("{{{{ 7*7 }}}} {{% for x in range(9) %}}x{{% endfor %}}", "{{ 7*7 }} {% for x in range(9) %}x{% endfor %}"),
    ("{% raw %}{{ cycler.__init__.__globals__ }}", None),  # a lone "{" is refused below, see the refusals
    ("Ä Ω 🚀 {version}", "Ä Ω 🚀 1.2.0"),
    ("", ""),
], ids=["placeholders", "literal-braces", "jinja-is-text", "skip", "unicode", "empty"])
def test_placeholders_fill_and_everything_else_is_literal(text, expected):
    if expected is None:
        with pytest.raises(TemplateRefused):
            render_text(text, VALUES, where="report.risk")
        return
    assert render_text(text, VALUES, where="report.risk") == expected


def test_a_value_holding_template_syntax_is_not_evaluated():
    values = {**VALUES, "version": "{{ 7*7 }}{% if 1 %}x{% endif %}"}
    assert render_text("v{version}", values, where="t") == "v{{ 7*7 }}{% if 1 %}x{% endif %}"


@pytest.mark.parametrize("text", ["{version!x}", "{version:>999999999}", "{version[0]}", "{version.__class__}",
                                  "{0}", "{}", "{", "}", "{unknown}", "{items}"])
def test_anything_but_a_bare_known_placeholder_is_refused(text):
    with pytest.raises(TemplateRefused, match=r"^report\.risk: "):
        render_text(text, VALUES, where="report.risk")


def test_output_past_the_bound_is_refused_while_streaming():
    assert len(render_text("x" * MAX_TEXT_BYTES, VALUES, where="t")) == MAX_TEXT_BYTES
    with pytest.raises(TemplateTooLarge, match="64 KiB"):
        render_text("x" * (MAX_TEXT_BYTES + 1), VALUES, where="t")
    with pytest.raises(TemplateTooLarge):  # small text, large output: 2000 x 40 characters
        render_text("{commit}" * 2000, {**VALUES, "commit": "f" * 40}, where="t")
    with pytest.raises(TemplateTooLarge):  # bytes, not characters: 3 bytes each
        render_text("€" * (MAX_TEXT_BYTES // 3 + 1), VALUES, where="t")


def test_render_bounded_stops_a_template_of_the_tool_that_would_balloon():
    template = template_env().from_string("{% for i in range(n) %}0123456789{% endfor %}")
    assert render_bounded(template, {"n": 10}, limit=100) == "0123456789" * 10
    with pytest.raises(TemplateTooLarge):
        render_bounded(template, {"n": 11}, limit=100)


def test_the_template_is_built_from_the_shape_only():
    source = _shape_template((None, "version", None)).render(literals=["{{ a }}", "}}"], values=VALUES)
    assert source == "{{ a }}1.2.0}}"


def test_report_settings_render_refuses_with_a_config_error_naming_the_key():
    with pytest.raises(ConfigError) as info:
        ReportSettings(impact="{commit}" * 2000).render("impact", version="1.2.0", previous_version=None,
                                                        tag="v1.2.0", commit="f" * 40)
    assert (info.value.key, info.value.exit_code) == ("report.impact", 2)
    assert "64 KiB" in info.value.expected
    with pytest.raises(ConfigError) as info:
        ReportSettings(risk="{version!x}").render("risk", version="1", previous_version=None, tag="t", commit="c")
    assert info.value.key == "report.risk" and "placeholder" in info.value.expected
    rendered = ReportSettings(backout_plan="Redeploy {previous_version}").render(
        "backout_plan", version="1.2.0", previous_version=None, tag="v1.2.0", commit="c")
    assert rendered == "Redeploy (none)"
