"""Extract the measured soil and urban spectra the surface table uses from the earthlib library.

earthlib 1.1.0 (PyPI, MIT licence) ships an ENVI spectral library (earthlib/data/spectra.sli, 400-2190 nm
every 10 nm, reflectance 0-1) with its metadata (spectra.csv). This one-off step keeps only what
make_spectra.py needs, 400-1000 nm, in sources/earthlib-1.1.0.tsv, so that the generator runs offline:

    .venv/bin/pip download --no-deps earthlib==1.1.0 -d DIR && unzip -q DIR/earthlib-*.whl -d DIR
    .venv/bin/python scripts/spectra/extract_earthlib.py DIR/earthlib/data scripts/spectra/sources/earthlib-1.1.0.tsv

Each kept spectrum is one measured sample: the medoid of its class (the member with the least summed
absolute difference to the others over 400-940 nm), so no averaging smooths its features.
"""
import csv
import sys
from pathlib import Path

import numpy as np

WAVELENGTHS = np.arange(400, 2191, 10)
KEEP = WAVELENGTHS <= 1000
IN_BAND = WAVELENGTHS <= 940

# name in the table: (earthlib LEVEL_1, LEVEL_3, SOURCE, optional extra selection)
CLASSES = {
    "asphalt": ("impervious", "asphalt", "asd", None),
    "concrete": ("impervious", "sidewalk", "asd", None),
    "red_tile": ("impervious", "tile", "asd", None),
    "metal_roof": ("impervious", "metal", "asd", None),
    "gravel": ("impervious", "gravel", "asd", None),
    "shingle_roof": ("impervious", "comp_shingle", "asd", None),
    "sand": ("pervious", "sand", "asd", None),
    # ICRAF-ISRIC soils: the reddest 5 % by R(650)/R(550), and the darkest 10 % by mean 400-940 nm.
    "red_soil": ("pervious", "soil", "icraf-isric-soil-database", "red"),
    "dark_soil": ("pervious", "soil", "icraf-isric-soil-database", "dark"),
}


def medoid(spectra):
    """Index of the member with the least summed L1 distance to the others."""
    s = spectra[:, IN_BAND]
    cost = np.abs(s[:, None, :] - s[None, :, :]).sum(axis=(1, 2))
    return int(np.argmin(cost))


def main(data_dir, out):
    data_dir = Path(data_dir)
    meta = list(csv.DictReader(open(data_dir / "spectra.csv", newline="")))
    cube = np.fromfile(data_dir / "spectra.sli", "<f4").reshape(len(meta), WAVELENGTHS.size).astype(float)
    lines = ["name\tearthlib_name\tclass\tsource\tnotes\t" + "\t".join(str(w) for w in WAVELENGTHS[KEEP])]
    for name, (level1, level3, source, extra) in CLASSES.items():
        idx = np.array([i for i, r in enumerate(meta)
                        if r["LEVEL_1"] == level1 and r["LEVEL_3"] == level3 and r["SOURCE"] == source])
        s = cube[idx]
        if extra == "red":
            ratio = s[:, 25] / s[:, 15]
            keep = ratio >= np.quantile(ratio, 0.95)
            idx, s = idx[keep], s[keep]
        elif extra == "dark":
            mean = s[:, IN_BAND].mean(axis=1)
            keep = mean <= np.quantile(mean, 0.10)
            idx, s = idx[keep], s[keep]
        i = idx[medoid(s)]
        r = meta[i]
        lines.append("\t".join([name, r["NAME"], level3, source, r["NOTES"].replace("\t", " ")]
                               + [f"{v:.6f}" for v in cube[i, KEEP]]))
    Path(out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
