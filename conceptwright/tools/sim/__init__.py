"""sim tools: checks of the conceptual model, validators of the artefacts, run in the sandbox."""
