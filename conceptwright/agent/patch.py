"""Editing by patch: the first call of an edit asks for an RFC 6902 JSON Patch of the current
model (applied with ``jsonpatch``) instead of the whole changed model; the patched model then
goes through the target's own evaluation, and repairs ask for the whole corrected model as
usual. It wraps any target's edit job (one that says which JSON it showed, ``current_json``)."""
from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from ..core.diagnostics import Diagnostic
from ..core.jsonparse import JSONExtractError, extract_json
from ..llm.base import Message
from ..prompts.edit import PATCH_TAIL, WHOLE_TAIL
from .protocol import InputError, Job, Outcome

EDIT_MODES = ("whole", "patch")
PATCH_SCHEMA: dict[str, Any] = {
    "type": "array", "minItems": 1, "maxItems": 30,
    "items": {"type": "object", "additionalProperties": False, "required": ["op", "path"],
              "properties": {"op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy"]},
                             "path": {"type": "string", "maxLength": 160},
                             "from": {"type": "string", "maxLength": 160}, "value": {}}},
}


class PatchEdit:
    """A target's edit job whose first reply is a JSON Patch (a reply that is a whole model is taken too)."""

    def __init__(self, job: Job) -> None:
        current = getattr(job, "current_json", None)
        if current is None:
            raise InputError("this target's edit cannot be written as a patch")
        self.job = job
        self.current = json.loads(current)
        self.strategy = job.strategy
        self.prompt_variant = job.prompt_variant + "/patch"
        self.max_tokens = job.max_tokens
        self.repair_temperature = job.repair_temperature
        self.schema = PATCH_SCHEMA if job.schema is not None else None
        if hasattr(job, "last_resort"):
            self.last_resort = job.last_resort

    def first_messages(self) -> list[Message]:
        self.schema = PATCH_SCHEMA if self.job.schema is not None else None
        messages = self.job.first_messages()
        last = messages[-1]
        if not last.content.endswith(WHOLE_TAIL):
            raise InputError("the target's edit prompt has no place for the patch instruction")
        return messages[:-1] + [Message(role=last.role, content=last.content[: -len(WHOLE_TAIL)] + PATCH_TAIL)]

    def repair_messages(self, previous: Outcome) -> list[Message]:
        return self.job.repair_messages(previous)

    def evaluate(self, raw: str) -> Outcome:
        self.schema = self.job.schema  # repairs write the whole model
        try:
            data = extract_json(raw)
        except JSONExtractError:
            return self.job.evaluate(raw)
        if isinstance(data, dict) and "op" in data and "path" in data:
            data = [data]
        if not isinstance(data, list):
            return self.job.evaluate(raw)  # a whole model after all
        try:
            patched = jsonpatch.apply_patch(copy.deepcopy(self.current), data)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError, IndexError) as exc:
            return Outcome(diagnostics=[Diagnostic(code="patch-error", message=f"the patch does not apply to the current "
                                                   f"model: {exc}. Write the whole changed model as JSON instead.")],
                           feedback=raw)
        out = self.job.evaluate(json.dumps(patched, ensure_ascii=False))
        out.fixes.insert(0, f"applied a JSON Patch of {len(data)} operation(s) to the current model")
        return out
