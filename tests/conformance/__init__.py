"""Conformance: requests shaped as OpenCRVS v2.0.0's own e2e and performance tests send them, answers checked
against OpenCRVS's sources (opencrvs-core v2.0.0, opencrvs-farajaland release/v2.0.0), run against the sandbox."""
