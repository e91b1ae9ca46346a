"""The JSON Schema of release.toml, generated from release.config_models and shipped as docs/release.schema.json.

    python -m release.config_schema            # rewrite docs/release.schema.json
    python -m release.config_schema --check    # exit 1 if the shipped file is not what the models generate

The schema is draft 2020-12 but keeps to keywords that draft-7 validators also read (taplo, and so Even Better
TOML, validates with a draft-7 era validator): no null branches (TOML has no null), and each gate kind as an
`if kind = ... then <its table>` rule instead of a `oneOf` (and a user pool as `if array then ... else ...`), so
that a wrong value is reported at its own key (gates.load.users) rather than as "not valid under any of the given
schemas" at the table around it.

It states each table's keys, types, ranges and patterns. Rules across tables (a gate's target and role exist, a
quorum fits its role, command placeholders are declared) and a few value rules (a format holds {version} exactly
once, no two accounts share a username) are checked by `release` itself when it loads the file; see
docs/configuration.md.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from release import config_models
from release.config_models import GATE_KINDS, ReleaseToml

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "release.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


#: The union tags of release.config_models that a JSON type tells apart (a pool is a list or one table, a
#: variable a string or an { env } table).
_TYPE_TAGS = {"<list>": "array", "<text>": "string"}


class TomlJsonSchema(GenerateJsonSchema):
    """pydantic's generator, adjusted for a TOML file read by editors."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        """An optional key is left out, never null (TOML has no null)."""
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        """Defaults as editors show them; an absent-by-default key shows none."""
        json_schema = super().default_schema(schema)
        if json_schema.get("default", ...) is None:
            del json_schema["default"]
        return json_schema

    def field_title_should_be_set(self, schema: Any) -> bool:
        """No generated "Production Branch" titles: the key and its description say it."""
        return False

    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> JsonSchemaValue:
        """A gate: `kind` picks its table, as an if/then per kind (errors then point at the gate's own keys)."""
        choices = schema["choices"]
        by_type = [tag for tag in choices if tag in _TYPE_TAGS]
        if len(choices) == 2 and len(by_type) == 1:  # a value or a table of it: if <type> then ... else ...
            (other,) = (tag for tag in choices if tag != by_type[0])
            return {"if": {"type": _TYPE_TAGS[str(by_type[0])]},
                    "then": self.generate_inner(choices[by_type[0]]),
                    "else": self.generate_inner(choices[other])}
        if not all(isinstance(tag, str) and tag.startswith("kind=") for tag in choices):
            return super().tagged_union_schema(schema)
        rules = []
        for tag, choice in choices.items():
            kind = str(tag).removeprefix("kind=")
            rules.append({"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                          "then": self.generate_inner(choice)})
        return {"type": "object", "required": ["kind"],
                "properties": {"kind": {"enum": list(GATE_KINDS), "description": "The gate's kind: pytest, "
                                        "browser, locust, command (automated) or signoff, approval, criteria."}},
                "allOf": rules}


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _tidy(node: Any) -> Any:
    """Descriptions on one line per paragraph; a $ref with siblings wrapped in allOf (draft 7 ignores siblings).

    Also the same text from every pydantic 2.x: a bound of 1.0 is written 1, and a `const` without the one-item
    `enum` older versions add beside it.
    """
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _tidy(value) for key, value in node.items()}
    for key in _BOUNDS:
        if isinstance(out.get(key), float) and out[key].is_integer():
            out[key] = int(out[key])
    if "const" in out and out.get("enum") == [out["const"]]:
        del out["enum"]
    if isinstance(out.get("description"), str):
        out["description"] = "\n\n".join(" ".join(p.split()) for p in out["description"].split("\n\n"))
    if "$ref" in out and len(out) > 1:
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def attribute_docstrings(source: str) -> dict[str, dict[str, str]]:
    """{class name: {attribute: docstring}} for the string literal right under each annotated class attribute."""
    docs: dict[str, dict[str, str]] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        found: dict[str, str] = {}
        for stmt, after in zip(node.body, node.body[1:], strict=False):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
                found[stmt.target.id] = inspect.cleandoc(after.value.value)
        docs[node.name] = found
    return docs


def _describe_fields() -> None:
    """Give every model field its attribute docstring as its description (once, before the schema is built)."""
    docs = attribute_docstrings(inspect.getsource(config_models))
    models = [m for m in vars(config_models).values()
              if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__ == config_models.__name__]
    for model in models:
        for name, field in model.model_fields.items():
            if field.description is None:
                doc = next((docs[c.__name__][name] for c in model.__mro__ if name in docs.get(c.__name__, {})), None)
                field.description = doc
    for model in models:
        model.model_rebuild(force=True)


def schema() -> dict[str, Any]:
    """The JSON Schema of release.toml."""
    _describe_fields()
    generated = ReleaseToml.model_json_schema(schema_generator=TomlJsonSchema, mode="validation")
    return {"$schema": DRAFT, "title": "release.toml",
            "description": "The configuration of crvs-release (docs/configuration.md). Generated from "
                           "release/config_models.py by `python -m release.config_schema`; do not edit.",
            **_tidy({k: v for k, v in generated.items() if k not in ("title", "description")})}


def render() -> str:
    """The schema file's text: stable key order, two-space indent, a final newline."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schema file, or with --check say whether the shipped one is current."""
    parser = argparse.ArgumentParser(prog="python -m release.config_schema", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the models")
    parser.add_argument("--output", type=Path, default=SCHEMA_FILE, help=f"default: {SCHEMA_FILE}")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python -m release.config_schema", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
