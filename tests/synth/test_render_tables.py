"""The renderer's cached curve tables give exactly the values of the expressions they replace, so the benchmark's
frames stay bit-identical to those the committed records were made from."""
from __future__ import annotations

import numpy as np

from tgdfer.synth import faces
from tgdfer.synth import generate as g


def test_cached_curves_equal_the_direct_expressions():
    for n in (8, 10, 12, 14, 16, 20, 24, 32, 48):
        t = np.linspace(0.0, 1.0, n)[:, None]
        p0, p1, p2 = [0.1, -0.3], [0.4, 0.7], [-0.2, 0.05]
        direct = (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t ** 2 * np.asarray(p2)
        assert np.array_equal(faces._bezier(p0, p1, p2, n), direct)
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        s = np.sin(a)
        direct = np.stack([0.3 + 1.1 * np.cos(a), -0.2 + np.where(s > 0, 0.9, 0.7) * s], axis=1)
        assert np.array_equal(faces._ellipse(0.3, -0.2, 1.1, 0.7, n, lower_ry=0.9), direct)
    assert np.array_equal(faces._EYE_SIN, np.sin(np.pi * np.linspace(0, 1, 14)))


def test_cached_tables_are_read_only_and_results_are_fresh_arrays():
    e = faces._ellipse(0, 0, 1, 1, 16)
    e[:, 1] = 0.0                                  # callers clip outlines in place: that must not touch the cache
    assert np.array_equal(faces._ellipse(0, 0, 1, 1, 16)[:, 1], faces._unit_circle(16)[1])
    assert not faces._unit_circle(16)[0].flags.writeable and not faces._bezier_weights(8)[0].flags.writeable


def test_a_clip_renders_the_same_pixels_twice_in_one_process():
    cfg = g.GenerateConfig(clips=20, size=64, seed=3, expressions="distribution", videos=False)
    first = g.render_clip(7, "fear", 2, 24, cfg)[0]
    faces._bezier_weights.cache_clear()
    faces._unit_circle.cache_clear()
    assert np.array_equal(g.render_clip(7, "fear", 2, 24, cfg)[0], first)


def test_light_gain_and_noise_in_place_equal_the_plain_expression():
    from tgdfer.synth.faces import Pose, random_identity, render_face

    rng = np.random.default_rng(0)
    look, ident = g.random_look(rng, 64), random_identity(np.random.default_rng(1))
    pose, au = Pose(cx=0.5, cy=0.52, roll=3.0, scale=1.0, yaw=0.1, gaze=0.2), np.full(len(faces.AUS), 0.4)
    got, _ = g.compose_frame(look, ident, pose, au, (5.0, 7.0), 1.07, np.random.default_rng(9))
    img = np.ascontiguousarray(look.bg[7:7 + 64, 5:5 + 64])
    render_face(img, ident, pose, au)
    plain = img.astype(np.float32) * look.light * 1.07 + np.random.default_rng(9).normal(0, look.noise_sd, img.shape)
    assert np.array_equal(got, np.clip(plain, 0, 255).astype(np.uint8))
