"""The cad compiler: conceptual part model (pydantic) -> parametric CadQuery script."""
from .parse import parse_part
from .model import Part
from .schema import part_schema
from .to_cadquery import Script, compile_part, expected_holes

__all__ = ["Part", "Script", "compile_part", "expected_holes", "parse_part", "part_schema"]
