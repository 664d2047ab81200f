"""Deterministic compilers: conceptual model (pydantic) -> artefacts, one package per target."""
