"""Procedural face renderer driven by FACS action units.

In: an `Identity` (face shape, skin, hair, eye spacing, ...), a `Pose` and a vector of action-unit
intensities in [0, 1] (`AUS` gives the order). Out: an RGB uint8 image [S, S, 3].
This is the drawing half of the generated benchmark (../shared/DATA.md); `expressions.py` decides
which units are active in which frame. Geometry lives in "face units" (the face's half-width),
x to the right, y down, origin at the face centre; one affine maps face units to pixels.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

# Action units the renderer draws; 45 is a blink. Index into an AU vector with AU_INDEX[au].
# 10 (upper lip raiser), 17 (chin raiser) and 24 (lip pressor) came with benchmark format 3; they sit at the
# end so that the earlier units keep their indices, and a face without them renders as before.
AUS = (1, 2, 4, 5, 6, 7, 9, 12, 15, 16, 20, 23, 25, 26, 45, 10, 17, 24)
AU_INDEX = {au: i for i, au in enumerate(AUS)}

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_SCALE = float(1 << _SHIFT)


@dataclass(frozen=True)
class Identity:
    face_w: float        # face half-width as a fraction of the frame
    face_h: float        # face half-height / half-width
    skin: tuple          # RGB
    hair: tuple          # RGB
    hair_style: int      # 0 short, 1 long, 2 bald, 3 fringe
    eye_dx: float        # eye centre distance from the midline (face units)
    eye_w: float         # eye half-width
    eye_h: float         # eye half-height at rest
    iris: tuple          # RGB
    brow_w: float        # brow thickness (face units)
    mouth_w: float       # mouth half-width at rest
    lips: tuple          # RGB
    glasses: bool
    beard: bool


@dataclass(frozen=True)
class Pose:
    cx: float = 0.5      # face centre, fraction of the frame
    cy: float = 0.52
    roll: float = 0.0    # degrees, in-plane
    scale: float = 1.0
    yaw: float = 0.0     # -1..1: shifts the features sideways inside the head outline
    gaze: float = 0.0    # -1..1: iris offset


def random_identity(rng: np.random.Generator) -> Identity:
    """Draw an identity; every field varies so that no single pixel statistic gives the class."""
    tone = rng.uniform(0.0, 1.0)
    skin = tuple(int(v) for v in np.array([236, 200, 170]) * (1 - tone) + np.array([120, 80, 55]) * tone
                 + rng.normal(0, 6, 3))
    hair_palette = [(30, 22, 18), (70, 45, 25), (140, 95, 50), (200, 170, 110), (120, 120, 120), (160, 60, 30)]
    hair = hair_palette[rng.integers(len(hair_palette))]
    iris_palette = [(70, 45, 30), (40, 80, 120), (60, 100, 60), (30, 25, 20)]
    return Identity(
        face_w=rng.uniform(0.25, 0.31),
        face_h=rng.uniform(1.18, 1.38),
        skin=tuple(int(np.clip(v, 0, 255)) for v in skin),
        hair=hair,
        hair_style=int(rng.integers(4)),
        eye_dx=rng.uniform(0.36, 0.46),
        eye_w=rng.uniform(0.15, 0.19),
        eye_h=rng.uniform(0.065, 0.09),
        iris=iris_palette[rng.integers(len(iris_palette))],
        brow_w=rng.uniform(0.045, 0.075),
        mouth_w=rng.uniform(0.30, 0.40),
        lips=tuple(int(np.clip(v, 0, 255)) for v in np.array(skin) * np.array([0.85, 0.55, 0.55])),
        glasses=bool(rng.random() < 0.2),
        beard=bool(rng.random() < 0.12),
    )


def _mix(a, b, alpha: float) -> tuple:
    """Colour a*(1-alpha) + b*alpha, as a tuple of ints for cv2."""
    alpha = min(max(float(alpha), 0.0), 1.0)
    return tuple(int(round(x * (1 - alpha) + y * alpha)) for x, y in zip(a, b))


# The renderer draws every frame from the same few curve resolutions: their parameter tables are computed once, by the
# same expressions as before, so every frame stays bit-identical (tests/synth/test_render_tables.py).
@functools.lru_cache(maxsize=None)
def _bezier_weights(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 1.0, n)[:, None]                                       # [n, 1]
    return _frozen((1 - t) ** 2, 2 * (1 - t) * t, t ** 2)


@functools.lru_cache(maxsize=None)
def _unit_circle(n: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return _frozen(np.cos(a), np.sin(a))                                        # [n], [n]


def _frozen(*arrays: np.ndarray) -> tuple:
    """Read-only: a cached table is shared by every later call."""
    for x in arrays:
        x.flags.writeable = False
    return arrays


def _bezier(p0, p1, p2, n: int = 12) -> np.ndarray:
    """Quadratic Bezier through control points, [n, 2]."""
    w0, w1, w2 = _bezier_weights(n)
    return w0 * np.asarray(p0) + w1 * np.asarray(p1) + w2 * np.asarray(p2)


def _ellipse(cx, cy, rx, ry, n: int = 32, lower_ry=None) -> np.ndarray:
    """Ellipse outline [n, 2]; `lower_ry` lets the lower half differ (an open jaw)."""
    c, s = _unit_circle(n)
    ry_ = np.where(s > 0, ry if lower_ry is None else lower_ry, ry)
    return np.stack([cx + rx * c, cy + ry_ * s], axis=1)


class _Canvas:
    """Draws face-unit polygons on an RGB image through one affine map."""

    def __init__(self, img: np.ndarray, ident: Identity, pose: Pose):
        self.img = img
        size = img.shape[0]
        unit = ident.face_w * size * pose.scale  # pixels per face unit
        th = np.deg2rad(pose.roll)
        c, s = np.cos(th), np.sin(th)
        self.m = np.array([[unit * c, -unit * s, pose.cx * size],
                           [unit * s, unit * c, pose.cy * size]])
        self.unit = unit

    def px(self, pts) -> np.ndarray:
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)                 # [N, 2] face units
        out = pts @ self.m[:, :2].T + self.m[:, 2]                             # [N, 2] pixels
        return np.rint(out * _SCALE).astype(np.int32)                          # = np.round: half to even

    def fill(self, pts, color):
        cv2.fillPoly(self.img, [self.px(pts)], color, cv2.LINE_AA, _SHIFT)

    def line(self, pts, color, width: float):
        w = max(1, int(round(width * self.unit)))
        cv2.polylines(self.img, [self.px(pts)], False, color, w, cv2.LINE_AA, _SHIFT)


_DARK = (25, 18, 15)  # RGB of lines, shadows and creases
_Y_EYE = -0.15        # eye centre line (face units)


def _draw_head(cv: _Canvas, ident: Identity, a: dict) -> None:
    """Hair behind the head, ears, head (the jaw drops with AU26), top hair and beard."""
    skin = ident.skin
    if ident.hair_style == 1:
        cv.fill(_ellipse(0, 0.05, 1.22, ident.face_h + 0.25), ident.hair)
    elif ident.hair_style in (0, 3):
        cv.fill(_ellipse(0, -0.25, 1.1, ident.face_h * 0.9), ident.hair)
    for sx in (-1, 1):
        cv.fill(_ellipse(sx * 0.98, -0.05, 0.14, 0.24, 16), _mix(skin, _DARK, 0.08))
    cv.fill(_ellipse(0, 0, 1.0, ident.face_h, 48, lower_ry=ident.face_h + 0.10 * a[26]), skin)
    if ident.hair_style == 3:  # fringe
        cv.fill(np.concatenate([_ellipse(0, -ident.face_h + 0.1, 0.95, 0.42, 24)[12:],
                                [[-0.9, -0.6], [0.9, -0.6]]]), ident.hair)
    elif ident.hair_style in (0, 1):
        cv.fill(_ellipse(0, -ident.face_h + 0.05, 0.92, 0.32, 24), ident.hair)
    if ident.beard:
        jaw = ident.face_h + 0.10 * a[26]
        cv.fill(np.concatenate([_bezier([-0.95, 0.35], [-0.7, jaw + 0.05], [0, jaw + 0.02]),
                                _bezier([0, jaw + 0.02], [0.7, jaw + 0.05], [0.95, 0.35])[1:],
                                _bezier([0.6, 0.6], [0, 0.95 + 0.15 * a[26]], [-0.6, 0.6])]),
                _mix(ident.hair, skin, 0.25))


def _draw_forehead(cv: _Canvas, ident: Identity, a: dict, fx: float) -> None:
    """Forehead wrinkles: AU1 + AU2."""
    wr = min(a[1], a[2]) * 0.9 + 0.2 * max(a[1], a[2])
    if wr > 0.05:
        for k in range(3):
            y = -0.62 - 0.1 * k
            cv.line(_bezier([fx - 0.45, y + 0.02], [fx, y - 0.04], [fx + 0.45, y + 0.02], 8),
                    _mix(ident.skin, _DARK, 0.45 * wr), 0.025)


def _draw_eyeball(cv: _Canvas, ident: Identity, pose: Pose, ex: float, xs, upper, lower) -> None:
    """White, iris and pupil of one eye, the iris and pupil clipped to the lids ([14] curves)."""
    eye = np.concatenate([np.stack([xs, upper], 1), np.stack([xs[::-1], lower[::-1]], 1)])  # [28, 2]
    cv.fill(eye, (235, 235, 230))
    ix = ex + 0.05 * pose.gaze
    circ = _ellipse(ix, _Y_EYE, 0.075, 0.075, 20)
    ux = np.interp(circ[:, 0], xs, upper)
    lx = np.interp(circ[:, 0], xs, lower)
    circ[:, 1] = np.clip(circ[:, 1], ux, lx)
    circ[:, 0] = np.clip(circ[:, 0], xs[0], xs[-1])
    cv.fill(circ, ident.iris)
    pup = _ellipse(ix, _Y_EYE, 0.03, 0.03, 12)
    pup[:, 1] = np.clip(pup[:, 1], np.interp(pup[:, 0], xs, upper), np.interp(pup[:, 0], xs, lower))
    cv.fill(pup, (10, 10, 10))


def _draw_cheek_raise(cv: _Canvas, ident: Identity, a: dict, sx: int, ex: float) -> None:
    """AU6 cheek raiser: bulge under one eye and crow's feet at its outer corner."""
    skin = ident.skin
    cv.line(_bezier([ex - 0.16, _Y_EYE + 0.16 - 0.05 * a[6]], [ex, _Y_EYE + 0.24 - 0.07 * a[6]],
                    [ex + 0.16, _Y_EYE + 0.16 - 0.05 * a[6]], 8), _mix(skin, _DARK, 0.45 * a[6]), 0.022)
    ox = ex + sx * (ident.eye_w + 0.03)
    for dy in (-0.05, 0.0, 0.05):
        cv.line([[ox, _Y_EYE + dy], [ox + sx * 0.1, _Y_EYE + 1.6 * dy]], _mix(skin, _DARK, 0.5 * a[6]), 0.018)


_EYE_U, = _frozen(np.linspace(0, 1, 14))                                       # [14] along an eye, corner to corner
_EYE_SIN, = _frozen(np.sin(np.pi * _EYE_U))


def _draw_eyes(cv: _Canvas, ident: Identity, pose: Pose, sides: dict, fx: float) -> None:
    """Both eyes (AU5 widens, AU6/AU7 narrow, AU45 closes), cheek creases and glasses."""
    for sx in (-1, 1):
        a = sides[sx]
        openness = min(max(1 + 0.55 * a[5] - 0.45 * a[7] - 0.3 * a[6], 0.05), 2.0) * (1 - a[45])
        up_gain = 1.0 + 0.8 * a[5]
        low_gain = (1.0 - 0.45 * a[6] - 0.25 * a[7]) * (1 - a[45])
        ex = sx * ident.eye_dx + fx
        xs = ex - ident.eye_w + 2 * ident.eye_w * _EYE_U
        upper = _Y_EYE - ident.eye_h * openness * up_gain * _EYE_SIN
        lower = _Y_EYE + ident.eye_h * 0.8 * max(low_gain, 0.0) * _EYE_SIN * max(openness, 0.05) ** 0.5
        if openness * up_gain > 0.15:
            _draw_eyeball(cv, ident, pose, ex, xs, upper, lower)
        cv.line(np.stack([xs, upper], 1), _DARK, 0.035)
        cv.line(np.stack([xs, lower], 1), _mix(ident.skin, _DARK, 0.5), 0.018)
        if a[6] > 0.05:
            _draw_cheek_raise(cv, ident, a, sx, ex)
        if ident.glasses:
            cv.line(_ellipse(ex, _Y_EYE, ident.eye_w + 0.08, 0.15, 24)[list(range(24)) + [0]], (40, 40, 45), 0.03)

    if ident.glasses:
        cv.line([[fx - ident.eye_dx + ident.eye_w + 0.08, _Y_EYE], [fx + ident.eye_dx - ident.eye_w - 0.08, _Y_EYE]],
                (40, 40, 45), 0.03)


def _draw_brows(cv: _Canvas, ident: Identity, sides: dict, fx: float) -> None:
    """Brows: AU1 raises the inner ends, AU2 the outer ends, AU4 lowers and draws them together."""
    y_brow = -0.38
    for sx in (-1, 1):
        a = sides[sx]
        inner = [fx + sx * (0.14 - 0.05 * a[4]), y_brow - 0.17 * a[1] + 0.11 * a[4]]
        outer = [fx + sx * 0.62, y_brow + 0.02 - 0.17 * a[2] + 0.04 * a[4]]
        mid = [fx + sx * 0.38, y_brow - 0.06 - 0.09 * (a[1] + a[2]) + 0.07 * a[4] - 0.05 * a[1] * (1 - a[2])]
        cv.line(_bezier(inner, mid, outer, 10), _mix(ident.hair, _DARK, 0.5), ident.brow_w)
    for sx in (-1, 1):  # vertical furrows between the brows
        a = sides[sx]
        if a[4] > 0.05:
            cv.line([[fx + sx * 0.05, y_brow - 0.02], [fx + sx * 0.06, y_brow + 0.12]],
                    _mix(ident.skin, _DARK, 0.55 * a[4]), 0.02)


def _draw_nose(cv: _Canvas, ident: Identity, a: dict, fx: float) -> float:
    """Nose: AU9 wrinkles the bridge and lifts the nostrils. Returns the nostril line's y."""
    skin = ident.skin
    nose_y = 0.30 - 0.05 * a[9]
    cv.line([[fx - 0.04, -0.08], [fx - 0.06, nose_y - 0.06]], _mix(skin, _DARK, 0.25), 0.02)
    cv.line(_bezier([fx - 0.12 - 0.03 * a[9], nose_y], [fx, nose_y + 0.07], [fx + 0.12 + 0.03 * a[9], nose_y], 10),
            _mix(skin, _DARK, 0.45), 0.025)
    for sx in (-1, 1):
        cv.fill(_ellipse(fx + sx * (0.075 + 0.02 * a[9]), nose_y + 0.005, 0.035 + 0.01 * a[9], 0.02, 10),
                _mix(skin, _DARK, 0.6))
    if a[9] > 0.05:
        for k in range(3):
            y = -0.04 + 0.055 * k
            cv.line([[fx - 0.1, y], [fx + 0.1, y - 0.01]], _mix(skin, _DARK, 0.6 * a[9]), 0.02)
    return nose_y


def _mouth_layout(ident: Identity, sides: dict) -> tuple:
    """Mouth half-width and corner offset of each side (AU12 up, AU15 down, ...) and the mouth line y.

    Returns ({-1: (mw, corner_dy), 1: (mw, corner_dy)}, y_m).
    """
    out = {}
    for sx in (-1, 1):
        a = sides[sx]
        mw = ident.mouth_w * (1 + 0.22 * a[12] + 0.30 * a[20] - 0.22 * a[23] - 0.06 * a[26] - 0.05 * a[24])
        corner_dy = -0.13 * a[12] + 0.12 * a[15] + 0.04 * a[20] + 0.03 * a[16] + 0.03 * a[17]
        out[sx] = (mw, corner_dy)
    return out, 0.64


def _draw_folds(cv: _Canvas, ident: Identity, sides: dict, fx: float, nose_y: float, mouth: tuple) -> None:
    """Nasolabial folds from the nostrils to the mouth corners; they deepen with AU12, AU9 and AU10."""
    corners, y_m = mouth
    for sx in (-1, 1):
        a = sides[sx]
        mw, corner_dy = corners[sx]
        fold = 0.15 + 0.55 * a[12] + 0.45 * a[9] + 0.5 * a[10]
        cv.line(_bezier([fx + sx * 0.16, nose_y + 0.02], [fx + sx * (mw + 0.06), y_m - 0.12],
                        [fx + sx * (mw + 0.08), y_m + 0.06 + corner_dy], 8), _mix(ident.skin, _DARK, 0.5 * fold), 0.02)


def _draw_chin(cv: _Canvas, ident: Identity, a: dict, fx: float, y_m: float) -> None:
    """AU17 chin raiser: the chin boss bulges and wrinkles under the lower lip."""
    if a[17] > 0.05:
        c = _mix(ident.skin, _DARK, 0.5 * a[17])
        cv.line(_bezier([fx - 0.16, y_m + 0.24], [fx, y_m + 0.17 - 0.04 * a[17]], [fx + 0.16, y_m + 0.24], 8), c, 0.02)
        for dx in (-0.07, 0.0, 0.07):
            cv.fill(_ellipse(fx + dx, y_m + 0.27, 0.018, 0.012, 8), c)


def _draw_mouth(cv: _Canvas, ident: Identity, a: dict, fx: float, mouth: tuple) -> None:
    """Mouth: corners, lip curves and the opening (AU25/26 part the lips, teeth show with AU10/12/16/20/26;
    AU17 pushes the lower lip up, AU24 presses the lips together)."""
    corners, y_m = mouth
    gap = (0.015 + 0.24 * a[26] + 0.05 * a[25] + 0.07 * a[16]) * (1 - 0.9 * a[24]) * (1 - 0.5 * a[17])
    thin = 1 - 0.6 * a[23] - 0.45 * a[24]
    t_up, t_lo = 0.05 * thin, 0.065 * thin
    left, right = [fx - corners[-1][0], y_m + corners[-1][1]], [fx + corners[1][0], y_m + corners[1][1]]
    lift = 0.06 * a[9] + 0.07 * a[10]                    # AU9 and AU10 raise the upper lip
    smile = 0.05 * a[12] - 0.03 * a[15]                  # curvature of the lip line
    push = 0.05 * a[16] - 0.04 * a[17]                   # AU16 lowers the lower lip, AU17 pushes it up
    in_up = _bezier(left, [fx, y_m - 0.4 * gap - lift + smile * 0.3], right, 14)                    # [14, 2]
    in_lo = _bezier(left, [fx, y_m + 0.6 * gap + smile + push], right, 14)
    out_up = _bezier(left, [fx, y_m - 0.4 * gap - lift - 2 * t_up + smile * 0.3], right, 14)
    out_lo = _bezier(left, [fx, y_m + 0.6 * gap + 2 * t_lo + smile + push], right, 14)
    cv.fill(np.concatenate([out_up, out_lo[::-1]]), ident.lips)
    opening = gap + 0.05 * a[16] + 0.04 * a[10]
    if opening > 0.035:
        cv.fill(np.concatenate([in_up, in_lo[::-1]]), (70, 22, 25))
        teeth = min(1.0, 2.5 * a[12] + 2 * a[16] + 1.5 * a[20] + 0.6 * a[26] + 2 * a[10])
        if teeth > 0.1:
            t_lo_curve = in_up.copy()
            t_lo_curve[:, 1] += min(opening * 0.45, 0.06) * np.sin(np.linspace(0, np.pi, len(in_up)))
            cv.fill(np.concatenate([in_up, t_lo_curve[::-1]]), _mix((70, 22, 25), (240, 238, 230), teeth))
    else:
        cv.line(in_up, _mix(ident.lips, _DARK, 0.6 + 0.3 * a[24]), 0.02)


# Units that can act more on one side of the face than the other (the blink and the jaw cannot).
LATERAL = (1, 2, 4, 5, 6, 7, 12, 15, 20, 10)


def _sides(a: dict, asym: float) -> dict:
    """Per-side unit intensities: side sx (-1 left, +1 right of the image) scales the lateral units by 1 + asym * sx."""
    if asym == 0.0:
        return {-1: a, 1: a}
    return {sx: {k: (min(1.0, v * (1.0 + asym * sx)) if k in LATERAL else v) for k, v in a.items()} for sx in (-1, 1)}


def render_face(img: np.ndarray, ident: Identity, pose: Pose, au: np.ndarray, asym: float = 0.0) -> None:
    """Draw one face in place on `img` [S, S, 3] uint8 (RGB) with action units `au` [len(AUS)].

    `asym` in [-1, 1] makes the lateral units stronger on one side (+: the image's right) and weaker on the
    other; 0 draws a symmetric face (every face of benchmark formats 1-2).
    """
    clipped = np.clip(np.asarray(au, dtype=np.float64), 0.0, 1.0)                 # [len(AUS)]
    a = {k: float(clipped[i]) for k, i in AU_INDEX.items()}
    sides = _sides(a, float(asym))
    cv = _Canvas(img, ident, pose)
    fx = 0.12 * pose.yaw  # features shift sideways with yaw
    _draw_head(cv, ident, a)
    _draw_forehead(cv, ident, a, fx)
    _draw_eyes(cv, ident, pose, sides, fx)
    _draw_brows(cv, ident, sides, fx)
    nose_y = _draw_nose(cv, ident, a, fx)
    mouth = _mouth_layout(ident, sides)
    _draw_folds(cv, ident, sides, fx, nose_y, mouth)
    _draw_mouth(cv, ident, a, fx, mouth)
    _draw_chin(cv, ident, a, fx, mouth[1])
