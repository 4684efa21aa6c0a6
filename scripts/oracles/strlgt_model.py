"""The STRLGT stray-light model written independently of vip (numpy and scipy only), from the
schema (VE_GIP_STRLGT_StrayLightFilters.xsd) and the reading of it in docs/formats.md:

  observed_b = true_b
      + sum over type-1 strips [c in strip] (K ⊛ true_b restricted to strip ± Overlap_Margin)
      + sum over type-2 filters (source s) and their vertical strips [c in strip]
            Filter_Factor · (K ⊛ true_s restricted to strip − shift ± Overlap_Margin)(l + Δ, c − shift)

on the equalised signal, where image column c is detector FIRST_DETECTOR_INDEX + c, ⊛ is the
'same' convolution with zeros outside (scipy.signal.fftconvolve), and line l of band b is acquired
with line l + Δ of band s, Δ the nearest whole number of line periods between the times of the
two bands' line 0 (Datation_Line_Model: t(line) = Time_Ref + Te · (line − Line_Ref)).

  strlgt_model.py filters L1A.HDR DIR
      writes DIR/filters.txt and the kernels it names (DIR/*.f32, little-endian float32, rows
      × columns): filters unlike the simulator's for every band of the product: type-1 strips whose
      boundaries fall at image columns of every offset modulo 4 across the middle of the image,
      each with its own asymmetric, non-separable kernel; two cross-talk sources per band with
      their own kernels, shifts, factors, strips and margins narrower than the kernels.
  strlgt_model.py forward L1A.HDR DIR SIGNAL_DIR OUT_DIR
      reads SIGNAL_DIR/Bnn.f32 (little-endian float32, the band's lines × columns) and writes
      OUT_DIR/Bnn.f32, the stray light the model adds to each band.

DIR/filters.txt, one item a line (columns are 0-based detectors, inclusive):
  band Bnn TYPE1_OVERLAP
  type1 FIRST LAST ROWS COLS KERNEL_FILE
  type2 SOURCE OVERLAP ROWS COLS KERNEL_FILE
  strip FIRST LAST FACTOR SHIFT          (a vertical strip of the type2 filter above)
"""

import os
import sys
import xml.etree.ElementTree as ET

import numpy as np
from scipy.signal import fftconvolve

NS = "{http://eop-cfi.esa.int/CFI}"
BANDS = ["B%02d" % i for i in range(1, 13)]


def local(tag):
    return tag.split("}")[-1]


def find_all(root, name):
    return [e for e in root.iter() if local(e.tag) == name]


def find_one(root, name):
    found = find_all(root, name)
    if not found:
        raise SystemExit("no <%s> in the header" % name)
    return found[0]


def seconds_of_mjd(text):
    # MJD=<days>.<fraction>: days since 2000-01-01T12:00, split to keep the microseconds.
    days, frac = text.strip().split("=")[1].split(".")
    return int(days) * 86400.0 + float("0." + frac) * 86400.0


def product(hdr):
    """First detector, per band (lines, columns) and time of line 0 (s), line period."""
    root = ET.parse(hdr).getroot()
    first = None
    for ext in find_all(root, "Extension"):
        if find_one(ext, "Keyword").text.strip() == "FIRST_DETECTOR_INDEX":
            first = int(find_one(ext, "Value").text)
    bands = {}
    base = os.path.dirname(hdr)
    for f in find_all(root, "Image_File"):
        loc = os.path.join(base, find_one(f, "File_Location").text.strip())
        img = ET.parse(loc).getroot()
        size = find_one(img, "Size")
        bands[f.get("sk")] = [int(find_one(size, "Lines").text), int(find_one(size, "Columns").text)]
    dbl = hdr[: -len(".HDR")] + ".DBL.DIR"
    tec = [n for n in os.listdir(dbl) if "_TEC_" in n and n.endswith(".EEF")][0]
    te = None
    for m in find_all(ET.parse(os.path.join(dbl, tec)).getroot(), "Datation_Line_Model"):
        period = float(find_one(m, "Te").text)
        t0 = seconds_of_mjd(find_one(m, "Time_Ref").text) - period * float(find_one(m, "Line_Ref").text)
        bands[m.get("sk")].append(t0)
        te = te or period
    return first, bands, te


def kernel(rows, cols, energy, angle, elong, off, tail, seed):
    """An asymmetric, non-separable filter: a rotated, elongated blob off centre plus a
    one-sided far-field tail, zero at the centre, scaled to `energy`."""
    y, x = np.mgrid[0:rows, 0:cols].astype(float)
    y -= rows // 2
    x -= cols // 2
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * x + s * y - off[0], -s * x + c * y - off[1]
    blob = np.exp(-((u / elong[0]) ** 2) - (v / elong[1]) ** 2)
    r = np.hypot(x, y)
    far = tail / (1.0 + (r / 9.0) ** 2) ** 1.3 * (1.0 + 0.6 * np.tanh((x - 0.5 * y) / 15.0))
    rng = np.random.default_rng(seed)
    k = (blob + far) * (1.0 + 0.2 * rng.random((rows, cols)))
    k[rows // 2, cols // 2] = 0.0
    k *= energy / k.sum()
    return k.astype(np.float32)


def filters(hdr, out):
    first, bands, _ = product(hdr)
    cols = max(c for _, c, _ in bands.values())
    # Type-1 boundaries at image columns m, m + 21, m + 42, m + 63 (m a multiple of 4): offsets
    # 0, 1, 2, 3 in a 4-column block, all across the middle of the image.
    m = 4 * ((cols // 2 - 32) // 4)
    edges = [first + m + 21 * i for i in range(4)]
    type1_ranges = list(zip([0] + edges, [e - 1 for e in edges] + [5199]))
    # Type-2 strips: three, boundaries at other offsets.
    t2 = [first + m + 10 + 1, first + m + 50 + 2]
    type2_ranges = list(zip([0] + t2, [e - 1 for e in t2] + [5199]))
    lines = []

    def save(k, name):
        k.astype("<f4").tofile(os.path.join(out, name))
        return "%d %d %s" % (k.shape[0], k.shape[1], name)

    for b, code in enumerate(BANDS):
        if code not in bands:
            continue
        lines.append("band %s 12" % code)
        for i, (lo, hi) in enumerate(type1_ranges):
            k = kernel(61 + 10 * (i % 2), 81 - 10 * (i % 3), 0.02 + 0.006 * ((b + i) % 5),
                       0.3 + 0.4 * i + 0.1 * b, (4.0 + i, 1.5 + 0.3 * (b % 2)),
                       (1.5 * i - 2.0, 0.8), 0.3 + 0.1 * i, 100 * b + i)
            lines.append("type1 %d %d %s" % (lo, hi, save(k, "%s_T1_%d.f32" % (code, i))))
        for j, step in enumerate([3, 7]):
            src = BANDS[(b + step) % 12]
            if src not in bands:
                continue
            k = kernel(15 - 4 * j, 11 + 2 * j, 1.0, 1.1 + j, (2.0, 1.0 + j), (1.0, -0.5 * j),
                       0.05, 1000 + 10 * b + j)
            lines.append("type2 %s %d %s" % (src, 3 + 2 * j, save(k, "%s_T2_%s.f32" % (code, src))))
            for i, (lo, hi) in enumerate(type2_ranges):
                factor = round([0.015, 0.006, 0.011][i] * (1.0 + 0.3 * j), 5)
                shift = [7, -5, 3][i] * (1 - 2 * j) + b % 3
                lines.append("strip %d %d %r %d" % (lo, hi, factor, shift))
    with open(os.path.join(out, "filters.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def read_filters(path):
    """{band: (type-1 overlap, [(first, last, K)], [(source, overlap, K, [strips])])}"""
    base = os.path.dirname(path)

    def load(rows, cols, name):
        a = np.fromfile(os.path.join(base, name), "<f4").astype(np.float64)
        return a.reshape(int(rows), int(cols))

    spec, band = {}, None
    for line in open(path):
        w = line.split()
        if w[0] == "band":
            band = spec.setdefault(w[1], (int(w[2]), [], []))
        elif w[0] == "type1":
            band[1].append((int(w[1]), int(w[2]), load(*w[3:6])))
        elif w[0] == "type2":
            band[2].append((w[1], int(w[2]), load(*w[3:6]), []))
        elif w[0] == "strip":
            band[2][-1][3].append((int(w[1]), int(w[2]), float(w[3]), int(w[4])))
    return spec


def restricted(image, lo, hi):
    """The image with zeros outside columns lo..hi (exclusive), clipped to the image."""
    out = np.zeros_like(image)
    lo, hi = max(lo, 0), min(hi, image.shape[1])
    if lo < hi:
        out[:, lo:hi] = image[:, lo:hi]
    return out


def forward(hdr, filters_dir, signal_dir, out_dir):
    first, bands, te = product(hdr)
    spec = read_filters(os.path.join(filters_dir, "filters.txt"))
    signal = {}
    for code, (lines, cols, _) in bands.items():
        a = np.fromfile(os.path.join(signal_dir, code + ".f32"), "<f4").astype(np.float64)
        signal[code] = a.reshape(lines, cols)
    for code, (lines, cols, t0) in bands.items():
        true = signal[code]
        stray = np.zeros_like(true)
        overlap, type1, type2 = spec[code]
        for lo, hi, k in type1:
            a, b = lo - first, hi - first + 1
            conv = fftconvolve(restricted(true, a - overlap, b + overlap), k, mode="same")
            a, b = max(a, 0), min(b, cols)
            if a < b:
                stray[:, a:b] += conv[:, a:b]
        for source, m, k, strips in type2:
            src = signal[source]
            src_lines, src_cols = src.shape
            # Line l of this band is acquired with line l + delta of the source.
            delta = int(round((t0 - bands[source][2]) / te))
            for lo, hi, factor, sh in strips:
                a, b = max(lo - first, 0), min(hi - first + 1, cols)
                if b <= a:
                    continue
                conv = fftconvolve(restricted(src, a - sh - m, b - sh + m), k, mode="same")
                # Target (l, c) takes the filtered source at (l + delta, c − shift).
                l0, l1 = max(0, -delta), min(lines, src_lines - delta)
                c0, c1 = max(a, sh), min(b, src_cols + sh)
                if l0 < l1 and c0 < c1:
                    stray[l0:l1, c0:c1] += factor * conv[l0 + delta:l1 + delta, c0 - sh:c1 - sh]
        stray.astype("<f4").tofile(os.path.join(out_dir, code + ".f32"))


if __name__ == "__main__":
    if sys.argv[1] == "filters":
        filters(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "forward":
        forward(*sys.argv[2:6])
    else:
        raise SystemExit(__doc__)
