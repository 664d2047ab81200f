"""xmi tools: checks of the conceptual model, validators of the artefacts."""
