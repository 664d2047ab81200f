"""cad tools: checks of the conceptual model, validators of the artefacts, the sandboxed CAD worker and its renderer."""
