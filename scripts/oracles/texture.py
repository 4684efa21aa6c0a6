"""Spatial structure of a single-band reflectance image, in physical units so that images of
different pixel sizes compare (numpy only; the raster is read with tifffile, or through
gdal_translate when tifffile cannot decode it).

  texture.py [--scale S] [--resample-to M] [--window-m W] [--smooth-m G] RASTER...
  texture.py --check

prints one JSON object a line per RASTER. The pixel size comes from the GeoTIFF
(ModelPixelScaleTag); values are multiplied by S (1e-4 for Sentinel-2 L2A digital numbers).
--resample-to M first averages blocks of M/pixel × M/pixel pixels (5 m to 10 m: 2 × 2), so that
a finer image is seen as a sensor of pixel M would see it. --window-m W cuts the image into
non-overlapping W × W m windows (W/pixel pixels, a whole number), computes every statistic in
each window and prints their means: the normalised statistics depend on the extent measured, so
images are compared on windows of the same size. --smooth-m G blurs the image first with a
Gaussian of standard deviation G metres (scipy.ndimage): a landscape made too smooth on purpose,
the control a test's acceptance band must reject.

--check measures fields of known structure and prints them as one JSON object: white noise
(γ(h)/σ² = 1, β = 0, var_lt40m the share of the frequency plane beyond 1/40 m) and Gaussian
fields of power spectrum k^−β for β = 2, 2.5, 3 (random phases, seed 7; 480 × 480 pixels of
10 m cropped to 120 × 120 so that they are not periodic; the mean of 8 fields).

The statistics, for a window z of n × n pixels of size p (metres), mean-removed:
  variogram   γ(h)/σ² at lags h = 10, 20, 40, 80, 160, 320 m (the multiples of p below n·p/2),
              γ(h) = ½ mean (z(x + h) − z(x))², along rows ("rows": h along a line), along
              columns ("cols") and their mean ("mean"); σ² the window's variance.
  beta        the slope β of P(k) ∝ k^−β, P the radially averaged periodogram of the
              Hann-tapered window, fitted by least squares in log–log over 12 log-spaced bins of
              wavelength 20–500 m (k = 1/500 … 1/20 cycles/m); "beta_r2" the fit's r².
  var_lt40m   the fraction of the (tapered) variance at wavelengths below 40 m: detail of
              features under 20 m, the finest a 10 m image resolves.
  var_lt20m   the same below 20 m (null when p > 5 m: a 10 m image has nothing there).
  edges       the fraction of pixels whose gradient (central differences) exceeds T
              reflectance per 10 m, for T = 0.01, 0.02, 0.05, 0.1.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

LAGS_M = [10, 20, 40, 80, 160, 320]
EDGE_T = [0.01, 0.02, 0.05, 0.1]
FIT_M = (20.0, 500.0)
FIT_BINS = 12


def read_raster(path):
    """Band 1 as float64 and the pixel size in metres."""
    try:
        import tifffile

        with tifffile.TiffFile(path) as t:
            page = t.pages[0]
            pixel = float(page.tags["ModelPixelScaleTag"].value[0])
            return page.asarray().astype(np.float64), pixel
    except Exception:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "b.raw")
        subprocess.run(
            ["gdal_translate", "-q", "-b", "1", "-ot", "Float64", "-of", "ENVI", path, out],
            check=True,
        )
        info = subprocess.run(
            ["gdalinfo", "-json", out], check=True, capture_output=True, text=True
        ).stdout
        meta = json.loads(info)
        cols, lines = meta["size"]
        pixel = float(meta["geoTransform"][1])
        return np.fromfile(out, dtype="<f8").reshape(lines, cols), pixel


def block_mean(z, f):
    n0, n1 = (z.shape[0] // f) * f, (z.shape[1] // f) * f
    return z[:n0, :n1].reshape(n0 // f, f, n1 // f, f).mean(axis=(1, 3))


def variogram(z, p):
    var = z.var()
    out = {"rows": {}, "cols": {}, "mean": {}}
    for h_m in LAGS_M:
        h = h_m / p
        if abs(h - round(h)) > 1e-9 or round(h) < 1 or round(h) >= min(z.shape) / 2:
            continue
        h = int(round(h))
        g_rows = 0.5 * np.mean((z[:, h:] - z[:, :-h]) ** 2) / var
        g_cols = 0.5 * np.mean((z[h:, :] - z[:-h, :]) ** 2) / var
        out["rows"][str(h_m)] = g_rows
        out["cols"][str(h_m)] = g_cols
        out["mean"][str(h_m)] = 0.5 * (g_rows + g_cols)
    return out


def spectrum(z, p):
    """The periodogram of the Hann-tapered, mean-removed window and |k| (cycles/m)."""
    n0, n1 = z.shape
    taper = np.outer(np.hanning(n0), np.hanning(n1))
    power = np.abs(np.fft.fft2((z - z.mean()) * taper)) ** 2
    k0 = np.fft.fftfreq(n0, d=p)
    k1 = np.fft.fftfreq(n1, d=p)
    k = np.hypot(k0[:, None], k1[None, :])
    return power, k


def beta_fit(power, k):
    edges = np.logspace(np.log10(1.0 / FIT_M[1]), np.log10(1.0 / FIT_M[0]), FIT_BINS + 1)
    lk, lp = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (k >= lo) & (k < hi) if hi < edges[-1] else (k >= lo) & (k <= hi)
        if sel.any():
            lk.append(np.log10(k[sel]).mean())
            lp.append(np.log10(power[sel].mean()))
    lk, lp = np.array(lk), np.array(lp)
    slope, icpt = np.polyfit(lk, lp, 1)
    resid = lp - (slope * lk + icpt)
    r2 = 1.0 - resid.var() / lp.var()
    return -slope, r2


def edges(z, p):
    g0, g1 = np.gradient(z, p)
    g = np.hypot(g0, g1) * 10.0
    return {str(t): float(np.mean(g > t)) for t in EDGE_T}


def stats(z, p):
    z = z - z.mean()
    power, k = spectrum(z, p)
    total = power[k > 0].sum()
    beta, r2 = beta_fit(power, k)
    return {
        "variogram": variogram(z, p),
        "beta": beta,
        "beta_r2": r2,
        "var_lt40m": power[k > 1.0 / 40].sum() / total,
        "var_lt20m": power[k > 1.0 / 20].sum() / total if p <= 5.0 else None,
        "edges": edges(z, p),
    }


def mean_of(items):
    """The mean of a list of like-shaped dicts of numbers (None stays None)."""
    first = items[0]
    if isinstance(first, dict):
        return {key: mean_of([i[key] for i in items]) for key in first}
    if first is None:
        return None
    return float(np.mean(items))


def measure(path, scale, resample_to, window_m, smooth_m):
    z, p = read_raster(path)
    z = z * scale
    if smooth_m:
        from scipy.ndimage import gaussian_filter

        z = gaussian_filter(z, smooth_m / p, mode="reflect")
    if resample_to:
        f = resample_to / p
        if abs(f - round(f)) > 1e-9 or round(f) < 1:
            sys.exit(f"{path}: pixel {p} m does not divide {resample_to} m")
        z, p = block_mean(z, int(round(f))), float(resample_to)
    if not np.isfinite(z).all():
        sys.exit(f"{path}: non-finite values")
    if window_m:
        w = window_m / p
        if abs(w - round(w)) > 1e-9 or round(w) > min(z.shape):
            sys.exit(f"{path}: a {window_m} m window is not a whole number of pixels within the image")
        w = int(round(w))
        wins = [
            z[i : i + w, j : j + w]
            for i in range(0, z.shape[0] - w + 1, w)
            for j in range(0, z.shape[1] - w + 1, w)
        ]
    else:
        wins = [z]
    out = {
        "file": os.path.basename(path),
        "pixel_m": p,
        "windows": len(wins),
        "window_px": list(wins[0].shape),
        "mean": float(z.mean()),
        "std": float(np.mean([w.std() for w in wins])),
    }
    out.update(mean_of([stats(w, p) for w in wins]))
    return out


def check():
    rng = np.random.default_rng(7)
    p, n, big = 10.0, 120, 480
    k0 = np.fft.fftfreq(big, d=p)
    k = np.hypot(k0[:, None], k0[None, :])
    k[0, 0] = np.inf
    out = {"white": [], "fields": {}}
    for _ in range(8):
        out["white"].append(stats(rng.standard_normal((n, n)), p))
    kn = np.fft.fftfreq(n, d=p)
    kn = np.hypot(kn[:, None], kn[None, :])
    out["white"] = mean_of(out["white"])
    out["white"]["expected_var_lt40m"] = float(np.sum(kn > 1.0 / 40) / np.sum(kn > 0))
    for beta in (2.0, 2.5, 3.0):
        runs = []
        for _ in range(8):
            phase = np.exp(2j * np.pi * rng.random((big, big)))
            z = np.real(np.fft.ifft2(k ** (-beta / 2) * phase))[:n, :n]
            runs.append(stats(z, p)["beta"])
        out["fields"][str(beta)] = float(np.mean(runs))
    print(json.dumps(out))


def main(argv):
    if argv == ["--check"]:
        return check()
    scale, resample_to, window_m, smooth_m, paths = 1.0, None, None, None, []
    it = iter(argv)
    for a in it:
        if a == "--scale":
            scale = float(next(it))
        elif a == "--resample-to":
            resample_to = float(next(it))
        elif a == "--window-m":
            window_m = float(next(it))
        elif a == "--smooth-m":
            smooth_m = float(next(it))
        else:
            paths.append(a)
    if not paths:
        sys.exit(__doc__)
    for path in paths:
        print(json.dumps(measure(path, scale, resample_to, window_m, smooth_m)))


if __name__ == "__main__":
    main(sys.argv[1:])
