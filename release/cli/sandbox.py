"""`release sandbox`: run or seed the bundled reference CRVS core."""

from sandbox.cli import group

command = group
