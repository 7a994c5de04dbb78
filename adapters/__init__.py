"""Adapter kinds, one subpackage each; the contract every kind implements is in ``adapters.base``."""
