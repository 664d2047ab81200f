"""Shape metrics of a generated part against the ground truth. This file is sent as a
script to the sandboxed CAD worker (it needs CadQuery): it reads gen.step and gt.step from
its working directory and prints one JSON line.

Both shapes are normalised (centroid to the origin, scaled by the largest bounding-box
side); Chamfer distance = (mean squared nearest-neighbour distance gen->gt + gt->gen) x 1000
over 10,000 area-weighted surface samples each; IoU from exact boolean volumes (OCCT),
falling back to point-in-solid sampling when the boolean fails. Bounding-box and volume
errors are relative and measured before normalising."""
import json

import cadquery as cq
import numpy as np
from scipy.spatial import cKDTree

SAMPLES = 10_000
SEED = 0


def load(path):
    solids = [s for v in cq.importers.importStep(path).vals() for s in v.Solids()]
    if not solids:
        return None
    return solids[0] if len(solids) == 1 else cq.Compound.makeCompound(solids)


def normalise(shape):
    bb = shape.BoundingBox()
    side = max(bb.xlen, bb.ylen, bb.zlen)
    return shape.translate(-shape.Center()).scale(1.0 / side)


def surface_points(shape, n=SAMPLES, seed=SEED):
    verts, tris = shape.tessellate(1e-3, 0.1)
    p = np.array([v.toTuple() for v in verts])
    t = p[np.array(tris)]
    area = 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(t), size=n, p=area / area.sum())
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    a, b, c = t[idx, 0], t[idx, 1], t[idx, 2]
    return a + u[:, None] * (b - a) + v[:, None] * (c - a)


def chamfer(a, b):
    pa, pb = surface_points(a), surface_points(b)
    d_ab = cKDTree(pb).query(pa)[0]
    d_ba = cKDTree(pa).query(pb)[0]
    return float((np.mean(d_ab ** 2) + np.mean(d_ba ** 2)) * 1000)


def iou(a, b):
    try:
        inter = a.intersect(b).Volume()
        union = a.Volume() + b.Volume() - inter
        if union > 0 and 0 <= inter <= min(a.Volume(), b.Volume()) * 1.001:
            return float(inter / union), "boolean"
    except Exception:  # noqa: BLE001 - fall back to sampling
        pass
    lo, hi = _lo(a, b), _hi(a, b)
    pts = np.random.default_rng(SEED).uniform(lo, hi, size=(20_000, 3))
    ina = np.array([a.isInside(cq.Vector(*p)) for p in pts])
    inb = np.array([b.isInside(cq.Vector(*p)) for p in pts])
    union = np.sum(ina | inb)
    return (float(np.sum(ina & inb) / union) if union else 0.0), "sampling"


def _lo(a, b):
    ba, bb = a.BoundingBox(), b.BoundingBox()
    return [min(ba.xmin, bb.xmin), min(ba.ymin, bb.ymin), min(ba.zmin, bb.zmin)]


def _hi(a, b):
    ba, bb = a.BoundingBox(), b.BoundingBox()
    return [max(ba.xmax, bb.xmax), max(ba.ymax, bb.ymax), max(ba.zmax, bb.zmax)]


def measure(gen, gt):
    out = {"valid_solid": len(gen.Solids()) == 1 and gen.isValid()}
    g, t = gen.BoundingBox(), gt.BoundingBox()
    gsize, tsize = np.array([g.xlen, g.ylen, g.zlen]), np.array([t.xlen, t.ylen, t.zlen])
    out["bbox_error"] = float(np.mean(np.abs(gsize - tsize)) / max(tsize))
    out["volume_error"] = float(abs(gen.Volume() - gt.Volume()) / gt.Volume())
    ng, nt = normalise(gen), normalise(gt)
    out["chamfer"] = chamfer(ng, nt)
    out["iou"], out["iou_method"] = iou(ng, nt)
    return out


if __name__ == "__main__":
    gen_shape, gt_shape = load("gen.step"), load("gt.step")
    if gen_shape is None or gt_shape is None:
        print(json.dumps({"valid_solid": False, "error": "no solid in " + ("gen.step" if gen_shape is None else "gt.step")}))
    else:
        print(json.dumps(measure(gen_shape, gt_shape)))
