"""`release sandbox`: run or seed the bundled reference CRVS core (needs the [sandbox] extra)."""

from release.extras import guard_command
from sandbox.cli import group

# `release sandbox --help` works on the core install; running a subcommand without the extra exits 2 with the
# pip line (sandbox.cli itself imports only settings; its commands import rapidfuzz through the app).
command = guard_command(group, "sandbox")
