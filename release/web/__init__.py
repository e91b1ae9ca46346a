"""The change-board web UI (`release serve`): releases, their change records, and approval forms."""
