#!/usr/bin/python3
"""Writes test/golden/mahalanobis.bin: samples, query points and what
lib/mahalanobis.c must compute from them, by an independent route:
the Ledoit-Wolf shrinkage from the per-sample outer products of the paper
(Ledoit and Wolf 2004, lemmas 3.2-3.4), numpy for the covariance,
scipy.linalg.cholesky for the factor and scipy.spatial.distance.mahalanobis
(with the explicit inverse) for the distances, all in float64 from the
float32 samples the C code reads.

Cases:
  wide     n=40,  p=12: correlated, and standardized per sample, so that the
           sample covariance is singular along the all-ones direction
  tall     n=10,  p=16: fewer samples than dimensions
  floor    n=4000, p=3: strongly anisotropic, so that the Ledoit-Wolf
           shrinkage falls below the floor CNN_MAHALANOBIS_MIN_SHRINKAGE

usage: /usr/bin/python3 test/gen_golden_mahalanobis.py
"""
import os

import numpy as np
import scipy.linalg
import scipy.spatial.distance

from golden import write_golden

MIN_SHRINKAGE = 1e-3  # CNN_MAHALANOBIS_MIN_SHRINKAGE


def reference(x, queries):
    x = x.astype(np.float64)
    n, p = x.shape
    mean = x.mean(axis=0)
    xc = x - mean
    s = xc.T @ xc / n
    m = np.trace(s) / p
    d2 = np.linalg.norm(s - m * np.eye(p), "fro") ** 2 / p
    b_bar2 = sum(np.linalg.norm(np.outer(v, v) - s, "fro") ** 2 for v in xc) / n**2 / p
    shrinkage = max(min(b_bar2, d2) / d2, MIN_SHRINKAGE)
    c = (1 - shrinkage) * s + shrinkage * m * np.eye(p)
    factor = scipy.linalg.cholesky(c, lower=True)
    inverse = np.linalg.inv(c)
    dist = [scipy.spatial.distance.mahalanobis(q.astype(np.float64), mean, inverse)
            for q in queries]
    return mean, shrinkage, factor, np.array(dist)


def main():
    rng = np.random.default_rng(15)
    cases = {}
    mix = rng.normal(size=(12, 12))
    wide = rng.normal(size=(40, 12)) @ mix
    wide = (wide - wide.mean(axis=1, keepdims=True)) / wide.std(axis=1, keepdims=True)
    cases["wide"] = wide
    cases["tall"] = rng.normal(size=(10, 16)) * np.linspace(0.5, 3.0, 16) + 2.0
    cases["floor"] = rng.normal(size=(4000, 3)) * np.array([1.0, 30.0, 300.0])
    arrays = {}
    for name, x in cases.items():
        x = x.astype(np.float32)
        p = x.shape[1]
        queries = np.concatenate([x[:2], rng.normal(size=(3, p)) * 2 * x.std(axis=0)
                                  + x.mean(axis=0)]).astype(np.float32)
        mean, shrinkage, factor, dist = reference(x, queries)
        if name == "floor":
            assert shrinkage == MIN_SHRINKAGE, shrinkage
        else:
            assert shrinkage > MIN_SHRINKAGE, (name, shrinkage)
        arrays[name + ".x"] = x
        arrays[name + ".queries"] = queries
        arrays[name + ".mean"] = mean
        arrays[name + ".shrinkage"] = [shrinkage]
        arrays[name + ".factor"] = factor
        arrays[name + ".distances"] = dist
        print("%s: n=%d p=%d shrinkage %.6f distances %s" %
              (name, x.shape[0], p, shrinkage, np.round(dist, 4)))
    here = os.path.dirname(os.path.abspath(__file__))
    write_golden(os.path.join(here, "golden", "mahalanobis.bin"), arrays)


if __name__ == "__main__":
    main()
