"""Adapter tests: the shared contract suite (contract.py, test_contract.py) and per-network specifics."""
