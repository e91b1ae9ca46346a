"""Release workflow services: prepare, gate runs, decisions, status, promote, rollback and the demo.

Each service takes a :class:`~release.workflow.context.Context` (repo, config, ledger, actor) and returns plain
data; the CLI modules in ``release/cli`` only parse arguments, call one service and print.
"""
