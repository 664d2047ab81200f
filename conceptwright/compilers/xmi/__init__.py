"""xmi compilers: conceptual instance model -> XMI (pyecore) and -> object diagram (Graphviz)."""
from .model import InstanceModel, Obj
from .metamodel import Metamodel, load_metamodel
from .to_dot import to_dot
from .to_xmi import to_xmi

__all__ = ["InstanceModel", "Obj", "Metamodel", "load_metamodel", "to_dot", "to_xmi"]
