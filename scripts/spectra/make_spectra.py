"""Build the VENµS surface-spectra table of vip-sim from independent, published spectra.

Every spectrum is made on a 1 nm grid from 400 to 940 nm and reduced to the 12 VENµS bands with the
relative spectral responses of testdata/srf (band value = sum(S rho) / sum(S); the 396-399 nm tail of
B01 is left out). Kinds (testdata/spectra/README.md gives the sources and licences):

- canopy: PROSPECT-5 + 4SAIL (PyPI prosail) over a grid of LAI, leaf chlorophyll, leaf water, brown
  pigment and soil moisture, at one geometry;
- soil: the PROSAIL dry/wet soil pair, and measured soils (earthlib 1.1.0) darkened when wet by the
  PROSAIL wet/dry ratio;
- material: measured urban materials of the Santa Barbara urban library (earthlib 1.1.0);
- water: a deep-water bio-optical model over a turbidity axis (pure water, mineral particles, CDOM);
- snow: the asymptotic radiative transfer of Kokhanovsky and Zege (2004) with the ice absorption of
  Warren and Brandt (2008), over an age axis (grain size and black carbon).

Usage: make_spectra.py OUT.tsv [--measure]   (--measure also prints the figures of the README)
"""
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WL = np.arange(400, 941, dtype=float)
BANDS = [f"B{i:02d}" for i in range(1, 13)]

# Geometry and fixed PROSAIL parameters.
SUN_ZENITH, VIEW_ZENITH, REL_AZIMUTH = 40.0, 0.0, 0.0
LEAF_N, LEAF_CM, CAR_PER_CAB = 1.5, 0.008, 0.25
LEAF_ANGLE, HOT_SPOT = 57.0, 0.1  # mean leaf inclination (Campbell ellipsoidal), hot-spot parameter

# The canopy grid (denser at low LAI, where reflectance changes fastest).
GRID = {
    "lai": [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.5, 7.0],
    "cab": [15.0, 30.0, 50.0, 80.0],
    "cw": [0.005, 0.015, 0.035],
    "brown": [0.0, 0.5, 1.0],
    "soil_moisture": [0.0, 0.5, 1.0],
}
PARAMS = ["lai", "cab", "cw", "brown", "soil_moisture", "turbidity", "age"]

# Water: suspended mineral matter (g/m3) and CDOM absorption at 440 nm (1/m) at each turbidity node.
WATER = {0.0: (0.5, 0.05), 0.25: (2.0, 0.1), 0.5: (5.0, 0.2), 0.75: (15.0, 0.4), 1.0: (50.0, 0.8)}
# Snow: optical grain diameter (mm) and black-carbon mass fraction (ng/g) at each age node.
SNOW = {0.0: (0.1, 0.0), 0.5: (0.4, 50.0), 1.0: (1.0, 200.0)}


def table(name):
    """A two-column source table of sources/ (comment lines start with #)."""
    return np.loadtxt(HERE / "sources" / name, comments="#", delimiter="\t", ndmin=2)


def responses():
    """VENµS relative spectral responses on WL, shape (12, len(WL))."""
    srf = np.loadtxt(ROOT / "testdata/srf/Venus_Spectral_Response.tsv", skiprows=1)
    keep = (srf[:, 0] >= WL[0]) & (srf[:, 0] <= WL[-1])
    assert np.array_equal(srf[keep, 0], WL)
    return srf[keep, 1:].T


def bands(srf, rho):
    return srf @ rho / srf.sum(axis=1)


def prosail_soils():
    import prosail
    dry, wet = prosail.spectral_lib.soil.rsoil1, prosail.spectral_lib.soil.rsoil2
    return dry[: WL.size], wet[: WL.size]  # prosail spectra start at 400 nm, 1 nm steps


def canopy(lai, cab, cw, brown, moisture):
    import prosail
    rho = prosail.run_prosail(
        LEAF_N, cab, CAR_PER_CAB * cab, brown, cw, LEAF_CM, lai, LEAF_ANGLE, HOT_SPOT,
        SUN_ZENITH, VIEW_ZENITH, REL_AZIMUTH, prospect_version="5", typelidf=2,
        rsoil=1.0, psoil=1.0 - moisture, factor="SDR")
    return rho[: WL.size]


def measured():
    """The earthlib spectra (name -> spectrum on WL) and their rows' metadata."""
    text = (HERE / "sources/earthlib-1.1.0.tsv").read_text().splitlines()
    head = text[0].split("\t")
    wl = np.array([float(w) for w in head[5:]])
    out = {}
    for line in text[1:]:
        cells = line.split("\t")
        out[cells[0]] = np.interp(WL, wl, [float(v) for v in cells[5:]])
    return out


def water_absorption():
    """Pure water absorption (1/m): Pope and Fry below 715 nm, Palmer and Williams above."""
    pf, pw = table("pope_fry_1997.tsv"), table("palmer_williams_1974.tsv")
    a = np.where(WL < 715.0, np.interp(WL, pf[:, 0], pf[:, 1]), np.interp(WL, pw[:, 0], pw[:, 1]))
    return 100.0 * a


def water(spm, ag440):
    """Reflectance factor pi Rrs of optically deep water (Lee et al. 2002), no sky glint.

    Pure water: absorption as above, scattering 0.00288 (lambda/500)^-4.32 (Morel 1974), half backward.
    Mineral particles: absorption 0.041 spm exp(-0.0123 (lambda-443)) and scattering 0.51 spm
    (555/lambda)^0.5 (Babin et al. 2003), backscattering ratio 0.0183 (Petzold's turbid water).
    CDOM: ag440 exp(-0.0176 (lambda-440)) (Babin et al. 2003).
    """
    a = water_absorption() + 0.041 * spm * np.exp(-0.0123 * (WL - 443.0)) \
        + ag440 * np.exp(-0.0176 * (WL - 440.0))
    bb = 0.5 * 0.00288 * (WL / 500.0) ** -4.32 + 0.0183 * 0.51 * spm * (555.0 / WL) ** 0.5
    u = bb / (a + bb)
    below = u * (0.089 + 0.125 * u)
    return np.pi * 0.52 * below / (1.0 - 1.7 * below)


def snow(grain_mm, bc_ng_g):
    """Nadir reflectance factor of a semi-infinite snowpack, Kokhanovsky and Zege (2004).

    R = R0 r^(u(mu0) u(mu) / R0), spherical albedo r = exp(-sqrt(gamma l)), l = 13 d, u(mu) = 3/7 (1 + 2 mu),
    R0 the reflectance of non-absorbing snow; gamma = 4 pi m_im / lambda (ice, Warren and Brandt 2008) plus
    black carbon rho_ice c MAC, MAC = 7.5 (550/lambda) m2/g (Bond and Bergstrom 2006).
    """
    ice = table("ice_warren_brandt_2008.tsv")
    m_im = np.exp(np.interp(WL, ice[:, 0], np.log(ice[:, 1])))
    gamma = 4.0 * np.pi * m_im / (WL * 1e-9) + 917e3 * bc_ng_g * 1e-9 * 7.5 * (550.0 / WL)
    mu0, mu = np.cos(np.radians(SUN_ZENITH)), np.cos(np.radians(VIEW_ZENITH))
    theta = 180.0 - SUN_ZENITH - VIEW_ZENITH  # scattering angle in the principal plane, backward
    p = 11.1 * np.exp(-0.087 * theta) + 1.1 * np.exp(-0.014 * theta)
    r0 = (1.247 + 1.186 * (mu0 + mu) + 5.157 * mu0 * mu + p) / (4.0 * (mu0 + mu))
    u = lambda m: 3.0 / 7.0 * (1.0 + 2.0 * m)
    r = np.exp(-np.sqrt(gamma * 13.0 * grain_mm * 1e-3))
    return r0 * r ** (u(mu0) * u(mu) / r0)


def rows():
    """(kind, name, parameters, spectrum on WL) for every row of the table."""
    import itertools
    out = []
    for lai, cab, cw, brown, moist in itertools.product(*GRID.values()):
        out.append(("canopy", "prosail", dict(lai=lai, cab=cab, cw=cw, brown=brown, soil_moisture=moist),
                    canopy(lai, cab, cw, brown, moist)))
    dry, wet = prosail_soils()
    lab = measured()
    for name in ["prosail", "sand", "red_soil", "dark_soil"]:
        base = dry if name == "prosail" else lab[name]
        for moist in [0.0, 1.0]:
            rho = base if moist == 0.0 else base * wet / dry
            out.append(("soil", name.removesuffix("_soil"), dict(soil_moisture=moist), rho))
    for name in ["asphalt", "concrete", "red_tile", "metal_roof", "gravel", "shingle_roof"]:
        out.append(("material", name, {}, lab[name]))
    for t, (spm, ag) in WATER.items():
        out.append(("water", "lake", dict(turbidity=t), water(spm, ag)))
    for age, (d, bc) in SNOW.items():
        out.append(("snow", "snow", dict(age=age), snow(d, bc)))
    return out


def fmt(v):
    return "-" if v is None else f"{v:g}"


def write(path):
    srf = responses()
    lines = ["\t".join(["kind", "name"] + PARAMS + BANDS)]
    table_rows = []
    for kind, name, par, rho in rows():
        b = bands(srf, rho)
        table_rows.append((kind, par, b))
        lines.append("\t".join([kind, name] + [fmt(par.get(p)) for p in PARAMS] + [f"{v:.5f}" for v in b]))
    Path(path).write_text("\n".join(lines) + "\n")
    return table_rows


def measure(table_rows):
    """The band relations the L2 retrievals rely on, as this table has them."""
    def blue_red(label, keep):
        veg = np.array([b for k, p, b in table_rows if k == "canopy" and keep(p)])
        blue, red = veg[:, 2], veg[:, 6]
        ratio = blue / red
        a, b = np.polyfit(red, blue, 1)
        print(f"canopy {label} (n={len(veg)}): B03/B07 mean {ratio.mean():.3f} sd {ratio.std():.3f} "
              f"range {ratio.min():.3f}-{ratio.max():.3f}; B03 = {a:.3f} B07 + {b:.4f}")
    blue_red("LAI>=2", lambda p: p["lai"] >= 2.0)
    blue_red("LAI>=2 green (brown 0)", lambda p: p["lai"] >= 2.0 and p["brown"] == 0.0)
    for kind in ["canopy", "soil", "material", "water", "snow"]:
        r = np.array([b[11] / b[10] for k, p, b in table_rows if k == kind])
        print(f"{kind} (n={len(r)}): B12/B11 mean {r.mean():.3f} sd {r.std():.3f} "
              f"range {r.min():.3f}-{r.max():.3f}")

if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] != "--measure"):
        sys.exit(__doc__.strip().splitlines()[-1])
    written = write(sys.argv[1])
    if len(sys.argv) == 3:
        measure(written)
