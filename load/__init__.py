"""The load gate: Locust scenarios, the runner, latency histograms, SLO checks and baseline comparison."""
