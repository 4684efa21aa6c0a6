"""An independent reimplementation (numpy, scipy.ndimage) of the L3A synthesis weights of CNES
WASP, checked against a product of `vip-maccs l3`.

  l3_weights.py --date YYYY-MM-DD --half-window H L3_DBL_DIR L2A_DBL_DIR... [--truth SCENE_DIR...]

For each L2A (its .DBL.DIR, date from its name), from its rasters alone:
  W_AOT   = Wmin + (Wmax - Wmin)(1 - AOT/AOTmax) below AOTmax, Wmin above (0.33, 1, 0.8);
            AOT = ATB band 2 x AOT_Quantification_Value (read from the ATB header)
  W_cloud = (1 - d_s)(1 - d_l) F, 0 if either d >= 1: d = CLD bit 1 on 240 m cells (cloudy
            when more than half of the cell's valid pixels are), scipy.ndimage.gaussian_filter
            of sigma 2 and 10 cells (mode constant, truncate 4), back to the pixels by
            scipy.ndimage.map_coordinates (order 1) at the pixel centres; F the feather,
            min(1, D / 240 m), D = scipy.ndimage.distance_transform_edt to the nearest 20 m
            cell holding a cloudy valid pixel, at the pixel centres the same way (1: no cloud)
  W_date  = 1 - |dt|/H (1 - 0.5)
A clear observation: QLT OTH bit 1 clear, CLD bit 1 clear, MSK bits 1 (water) and 6 (snow)
clear, at most 1 saturated band (QLT SAT); then, with 2 clear observations or more, those
standing out of their median (numpy.nanmedian) in blue B03, red B07 and NIR B11 are left out:
a blue rise over 0.04, at least 0.7 times the red rise and more than half the NIR rise
(residual cloud), or NIR, red and blue under 0.7, 0.8 and 0.9 times the median (residual
shadow); all left out: all kept. Over the product's land pixels (MSK FLG 4) it
compares the sum of the weights with WGT / 1000, the weighted date with PXD and the weighted
FRE with the product's, and prints one JSON object:
  land            land pixels compared
  wgt_max_err     max |sum W - WGT/1000|
  pxd_mismatch    share of land pixels whose rounded weighted date differs from PXD by >= 1
  fre_max_err     max |weighted FRE - product FRE| in counts, over bands with data
  cloud_weighted  share of land pixels where some clear observation has W_cloud < 0.9 (the
                  cloud weight is exercised)
With --truth (one vip-sim scene folder per L2A, same order; a clear date has no cloud
layers), the truth's weighted date: the
same weights with the truth's clear sky (CLD_SEEN < 0.05, SHD >= 0.75, WAT and SNW < 0.5) and
cloud mask (CLD_SEEN >= 0.05 or SHD < 0.75) and AOT, and
  date_truth_abs_mean, date_truth_within_1   over land pixels with >= 2 clear truth dates
"""

import argparse
import datetime as dt
import glob
import json
import os
import re
import subprocess
import tempfile

import numpy as np
from scipy import ndimage

COARSE_M = 240.0
SIGMA_SMALL, SIGMA_LARGE = 2.0, 10.0
W_AOT_MIN, W_AOT_MAX, AOT_MAX = 0.33, 1.0, 0.8
W_DATE_MIN = 0.5
MAX_SAT_BANDS = 1


def read(path):
    """All bands as float64 (bands, lines, cols) and the pixel size."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.raw")
        subprocess.run(
            ["gdal_translate", "-q", "-ot", "Float64", "-of", "ENVI", "-co", "INTERLEAVE=BSQ", path, out], check=True
        )
        meta = json.loads(
            subprocess.run(
                ["gdalinfo", "-json", out], check=True, capture_output=True, text=True
            ).stdout
        )
        cols, lines = meta["size"]
        n = len(meta["bands"])
        a = np.fromfile(out, dtype="<f8").reshape(n, lines, cols)
        return a, float(meta["geoTransform"][1])


def one(folder, suffix):
    hits = glob.glob(os.path.join(folder, f"*_{suffix}.DBL.TIF"))
    assert len(hits) == 1, (folder, suffix, hits)
    return hits[0]


def date_of(folder):
    return dt.datetime.strptime(re.search(r"_(\d{8})\.DBL\.DIR", folder).group(1), "%Y%m%d").date()


def cloud_weight(cloud, valid, pixel):
    cell = max(1, int(round(COARSE_M / pixel)))
    lines, cols = cloud.shape
    rows, ccols = -(-lines // cell), -(-cols // cell)
    pad = lambda z: np.pad(z, ((0, rows * cell - lines), (0, ccols * cell - cols)))
    v = pad(valid.astype(np.int64)).reshape(rows, cell, ccols, cell).sum(axis=(1, 3))
    c = pad((cloud & valid).astype(np.int64)).reshape(rows, cell, ccols, cell).sum(axis=(1, 3))
    mask = ((v > 0) & (2 * c > v)).astype(np.float64)
    y = np.clip((np.arange(lines) + 0.5) / cell - 0.5, 0, rows - 1)
    x = np.clip((np.arange(cols) + 0.5) / cell - 0.5, 0, ccols - 1)
    yy, xx = np.meshgrid(y, x, indexing="ij")
    d = []
    for s in (SIGMA_SMALL, SIGMA_LARGE):
        g = ndimage.gaussian_filter(mask, s, mode="constant", cval=0.0, truncate=4.0)
        d.append(np.abs(ndimage.map_coordinates(g, [yy, xx], order=1, mode="nearest")))
    fc = max(1, int(round(20.0 / pixel)))
    frows, fcols = -(-lines // fc), -(-cols // fc)
    padf = lambda z: np.pad(z, ((0, frows * fc - lines), (0, fcols * fc - cols)))
    fcloud = padf(cloud & valid).reshape(frows, fc, fcols, fc).any(axis=(1, 3))
    if fcloud.any():
        dist = ndimage.distance_transform_edt(~fcloud) * fc * pixel
        fy = np.clip((np.arange(lines) + 0.5) / fc - 0.5, 0, frows - 1)
        fx = np.clip((np.arange(cols) + 0.5) / fc - 0.5, 0, fcols - 1)
        fyy, fxx = np.meshgrid(fy, fx, indexing="ij")
        feather = np.minimum(ndimage.map_coordinates(dist, [fyy, fxx], order=1, mode="nearest") / 240.0, 1.0)
    else:
        feather = np.ones(cloud.shape)
    w = (1 - d[0]) * (1 - d[1]) * feather
    return np.where((d[0] >= 1) | (d[1] >= 1), 0.0, w)


def aot_weight(aot):
    return np.where(aot < AOT_MAX, W_AOT_MIN + (W_AOT_MAX - W_AOT_MIN) * (1 - aot / AOT_MAX), W_AOT_MIN)


def date_weight(days, half):
    return 1 - min(abs(days) / half, 1.0) * (1 - W_DATE_MIN)


def aot_quantification(folder):
    hdr = one(folder, "ATB").replace(".DBL.TIF", ".HDR")
    text = open(hdr).read()
    return float(re.search(r"<AOT_Quantification_Value>([^<]+)<", text).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--date", required=True)
    ap.add_argument("--half-window", type=int, default=11)
    ap.add_argument("--truth", nargs="*", default=[])
    ap.add_argument("l3")
    ap.add_argument("l2", nargs="+")
    a = ap.parse_args()
    date = dt.date.fromisoformat(a.date)

    fre3, _ = read(one(a.l3, "FRE"))
    qlt3, _ = read(one(a.l3, "QLT"))
    flg, _ = read(one(a.l3, "MSK"))
    land = flg[0] == 4

    obs = []
    cloud_weighted = np.zeros(land.shape, bool)
    for folder in a.l2:
        fre, pixel = read(one(folder, "FRE"))
        cld = read(one(folder, "CLD"))[0][0].astype(np.int64)
        msk = read(one(folder, "MSK"))[0][0].astype(np.int64)
        qlt = read(one(folder, "QLT"))[0].astype(np.int64)
        atb = read(one(folder, "ATB"))[0]
        valid = ((qlt[2] & 1) == 0) & (fre != -10000).any(axis=0)
        sat = np.vectorize(lambda v: bin(v).count("1"))(qlt[0])
        clear = valid & ((cld & 1) == 0) & ((msk & (1 | 32)) == 0) & (sat <= MAX_SAT_BANDS)
        days = (date_of(folder) - date).days
        wc = cloud_weight((cld & 1) == 1, valid, pixel)
        w = aot_weight(atb[1] * aot_quantification(folder)) * wc * date_weight(days, a.half_window)
        cloud_weighted |= clear & (wc < 0.9)
        obs.append((fre, clear, w, days))

    # residual clouds and shadows, against the median of the clear observations
    fres = np.stack([o[0] for o in obs])
    clears = np.stack([o[1] for o in obs])
    q = 0.001
    three = fres[:, [2, 6, 10]] * q  # blue B03, red B07, NIR B11: (dates, 3, lines, cols)
    has3 = (fres[:, [2, 6, 10]] != -10000).all(axis=1)
    n_clear = clears.sum(axis=0)
    judged = (n_clear >= 2) & ~(clears & ~has3).any(axis=0)
    med = np.nanmedian(np.where(clears[:, None], three, np.nan), axis=0)
    rise = three - med[None]
    residual_cloud = (rise[:, 0] > 0.04) & (rise[:, 0] >= 0.7 * rise[:, 1]) & (rise[:, 2] < 2.0 * rise[:, 0])
    residual_shadow = (three[:, 2] < 0.7 * med[2]) & (three[:, 1] < 0.8 * med[1]) & (three[:, 0] < 0.9 * med[0])
    kept = clears & ~((residual_cloud | residual_shadow) & judged[None])
    kept = np.where((kept.sum(axis=0) == 0)[None], clears, kept)

    sw = np.zeros(land.shape)
    swd = np.zeros(land.shape)
    swr = np.zeros(fre3.shape)
    swb = np.zeros(fre3.shape)
    for (fre, _, w, days), k in zip(obs, kept):
        w = np.where(k, w, 0.0)
        sw += w
        swd += w * days
        has = fre != -10000
        swr += np.where(has, w * fre, 0.0)
        swb += np.where(has, w, 0.0)

    ok = land & (sw > 0)
    res = {"land": int(land.sum())}
    res["wgt_max_err"] = float(np.abs(sw - qlt3[1] / 1000.0)[ok].max())
    wdate = np.sign(swd / np.where(ok, sw, 1)) * np.floor(np.abs(swd / np.where(ok, sw, 1)) + 0.5)
    res["pxd_mismatch"] = float((np.abs(wdate - qlt3[0]) >= 1)[ok].mean())
    mean = swr / np.where(swb > 0, swb, 1)
    band_ok = ok[None] & (swb > 0) & (fre3 != -10000)
    res["fre_max_err"] = float(np.abs(mean - fre3)[band_ok].max())
    res["cloud_weighted"] = float(cloud_weighted[land].mean())

    if a.truth:
        tsw = np.zeros(land.shape)
        tswd = np.zeros(land.shape)
        tn = np.zeros(land.shape)
        for folder, scene in zip(a.l2, a.truth):
            t = lambda n: read(os.path.join(scene, "truth", f"{n}.tif"))[0][0]
            # a clear date has no cloud layers
            sky = os.path.exists(os.path.join(scene, "truth", "CLD_SEEN.tif"))
            seen = t("CLD_SEEN") if sky else np.zeros(land.shape)
            shd = t("SHD") if sky else np.ones(land.shape)
            cloud = (seen >= 0.05) | (shd < 0.75)
            clear = ~cloud & (t("WAT") < 0.5) & (t("SNW") < 0.5)
            days = (date_of(folder) - date).days
            wc = cloud_weight(cloud, np.ones_like(cloud), pixel)
            w = np.where(clear, aot_weight(t("AOT")) * wc * date_weight(days, a.half_window), 0.0)
            tsw += w
            tswd += w * days
            tn += clear
        both = land & (tn >= 2) & (tsw > 0)
        diff = np.abs(tswd / np.where(both, tsw, 1) - qlt3[0])[both]
        res["date_truth_pixels"] = int(both.sum())
        res["date_truth_abs_mean"] = float(diff.mean())
        res["date_truth_within_1"] = float((diff <= 1.0).mean())
    print(json.dumps(res))


if __name__ == "__main__":
    main()
