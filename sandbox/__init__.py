"""The reference CRVS core: a wire-compatible subset of the OpenCRVS 2.x gateway, for gates and tests."""
