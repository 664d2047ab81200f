"""A PNG picture of a CadQuery shape, rendered headless: CadQuery's VTK viewer off-screen
(EGL/OSMesa, no display or GPU needed), or matplotlib drawing the tessellated mesh when
VTK cannot render here."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

Renderer = Literal["vtk", "matplotlib"]


def _shape(obj: Any) -> Any:
    import cadquery as cq

    if isinstance(obj, cq.Workplane):
        vals = [v for v in obj.vals() if isinstance(v, cq.Shape)]
        return vals[0] if len(vals) == 1 else cq.Compound.makeCompound(vals)
    return obj


def render_png(obj: Any, path: str | Path, *, size: tuple[int, int] = (800, 600),
               prefer: Renderer = "vtk") -> Renderer:
    """Write a shaded isometric picture; return the renderer that made it."""
    shape = _shape(obj)
    if prefer == "vtk":
        try:
            _vtk(shape, Path(path), size)
            if Path(path).is_file() and Path(path).stat().st_size > 0:
                return "vtk"
        except Exception:  # no EGL/OSMesa, or VTK built without off-screen support
            pass
    _matplotlib(shape, Path(path), size)
    return "matplotlib"


def _tolerance(shape: Any) -> float:
    return max(shape.BoundingBox().DiagonalLength * 1e-4, 1e-6)


def _vtk(shape: Any, path: Path, size: tuple[int, int]) -> None:
    from cadquery.vis import show

    show(shape, screenshot=str(path), interact=False, width=size[0], height=size[1], trihedron=False,
         tolerance=_tolerance(shape), roll=-35, elevation=-45)


def _matplotlib(shape: Any, path: Path, size: tuple[int, int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    verts, tris = shape.tessellate(_tolerance(shape), 0.3)
    pts = np.array([v.toTuple() for v in verts])
    faces = pts[np.array(tris)]
    normals = np.cross(faces[:, 1] - faces[:, 0], faces[:, 2] - faces[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    light = np.array([0.4, -0.5, 0.8]) / np.linalg.norm([0.4, -0.5, 0.8])
    shade = 0.35 + 0.65 * np.clip(normals @ light, 0, 1)
    colors = np.column_stack([0.85 * shade, 0.65 * shade, 0.13 * shade, np.ones_like(shade)])
    fig = plt.figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    ax = fig.add_subplot(projection="3d")
    ax.add_collection3d(Poly3DCollection(faces, facecolors=colors, edgecolors=colors, linewidths=0.3))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre, half = (lo + hi) / 2, max(hi - lo) / 2 or 1.0
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_zlim(centre[2] - half, centre[2] + half)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=30, azim=-60)
    ax.set_axis_off()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
