"""`python -m sandbox serve ...` without the release package."""

from sandbox.cli import group

if __name__ == "__main__":
    group(prog_name="sandbox")
