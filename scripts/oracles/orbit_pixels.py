"""Independent oracle of the real-orbit sensor model: where pixels of a band meet the ground.

Reads the acquisition's auxiliary data as the ICD files (GPSDTA, AOCDTA, EORDTA) and a JSON
description of one band (datation, viewing directions), and locates the asked pixels on the
surface at a given height above the WGS 84 ellipsoid. Written apart from VIP's Rust model:

- ephemeris: 8-point Lagrange interpolation of the GPS positions (not Hermite);
- attitude: scipy's Rotation/Slerp of the AOCS quaternions (scalar last, body -> mean of date);
- Earth rotation: ERFA's IAU 1980 nutation matrix, 1994 apparent sidereal time and polar
  motion (pyerfa), the Earth orientation linearly interpolated in the table;
- ground: Newton's method on the ray parameter with the height from Bowring's closed form.

With "epsg" in the case, the points are given in that map projection by pyproj (PROJ's own
Python binding, not VIP's path to it).

Usage: orbit_pixels.py CASE.json   (prints JSON: [[lon, lat, h], ...] per pixel, or
[[E, N, h], ...] with "epsg")
"""
import json
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import erfa
import numpy as np
from scipy.spatial.transform import Rotation, Slerp

NS = {"ee": "http://eop-cfi.esa.int/CFI"}
A, F = 6378137.0, 1 / 298.257223563
E2 = F * (2 - F)
GPS0 = datetime(1980, 1, 6)
J2000 = datetime(2000, 1, 1, 12)


def texts(root, tag):
    return [e.text for e in root.iter("{%s}%s" % (NS["ee"], tag))]


def gps(path):
    root = ET.parse(path).getroot()
    t = [GPS0 + timedelta(weeks=int(w), seconds=float(s) - float(o))
         for w, s, o in zip(texts(root, "GPS_Week"), texts(root, "GPS_Time"), texts(root, "UTC_Offset"))]
    p = np.array([[float(v) for v in x.split()] for x in texts(root, "PositionXYZ")])
    return t, p


def aocs(path):
    root = ET.parse(path).getroot()
    t = [J2000 + timedelta(days=float(d)) for d in texts(root, "MJD_Time")]
    q = np.array([[float(v) for v in x.split()] for x in texts(root, "Estimated_Attitudes")])
    return t, q


def eop(hdr):
    root = ET.parse(hdr).getroot()
    rel = texts(root, "Relative_File_Path")[0]
    rows = {}
    with open(hdr.rsplit("/", 1)[0] + "/" + rel) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                d, x, y, u = line.split()
                rows[datetime.strptime(d, "%Y-%m-%d")] = (float(x), float(y), float(u))
    return rows


def seconds(t, t0):
    return (t - t0).total_seconds()


def lagrange(ts, ps, x, n=8):
    i = int(np.clip(np.searchsorted(ts, x) - n // 2, 0, len(ts) - n))
    xs, ys = ts[i:i + n], ps[i:i + n]
    out = np.zeros(3)
    for j in range(n):
        w = np.prod([(x - xs[k]) / (xs[j] - xs[k]) for k in range(n) if k != j])
        out += w * ys[j]
    return out


def geodetic_height(p):
    """Bowring's closed form (one step from the parametric latitude): lat, h."""
    b = A * (1 - F)
    ep2 = (A * A - b * b) / (b * b)
    r = np.hypot(p[0], p[1])
    beta = np.arctan2(p[2] * A, r * b)
    lat = np.arctan2(p[2] + ep2 * b * np.sin(beta) ** 3, r - E2 * A * np.cos(beta) ** 3)
    n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
    h = r * np.cos(lat) + p[2] * np.sin(lat) - A * A / n
    return np.degrees(np.arctan2(p[1], p[0])), np.degrees(lat), h


def main():
    case = json.load(open(sys.argv[1]))
    tg, pg = gps(case["gpsdta"])
    ta, qa = aocs(case["aocdta"])
    table = eop(case["eordta"])
    t0 = tg[0]
    sg = np.array([seconds(t, t0) for t in tg])
    slerp = Slerp([seconds(t, t0) for t in ta], Rotation.from_quat(qa))
    band = case["band"]
    time_ref = datetime.fromisoformat(band["time_ref"])
    dirs = np.array(band["view_dirs"])
    out = []
    for line, col, h in case["pixels"]:
        # seconds from the first GPS sample as a float (timedelta keeps microseconds only)
        x = seconds(time_ref, t0) + band["te"] * (line - band["line_ref"])
        t = t0 + timedelta(seconds=x)
        sat = lagrange(sg, pg, x)
        # Earth orientation at t, linear between days
        day = datetime(t.year, t.month, t.day)
        f = seconds(t, day) / 86400.0
        e0, e1 = table[day], table[day + timedelta(days=1)]
        xp, yp, dut1 = [a + f * (b - a) for a, b in zip(e0, e1)]
        u1, u2 = erfa.dtf2d("UTC", t.year, t.month, t.day, t.hour, t.minute,
                            t.second + t.microsecond * 1e-6)
        tt = erfa.taitt(*erfa.utctai(u1, u2))
        ut1 = erfa.utcut1(u1, u2, dut1)
        das2r = np.pi / 648000.0
        mod_to_itrf = erfa.pom00(xp * das2r, yp * das2r, 0.0) @ erfa.rz(erfa.gst94(*ut1), np.eye(3)) @ erfa.nutm80(*tt)
        body_to_mod = slerp([x]).as_matrix()[0]
        j = band["first_detector"] + col
        j0 = int(min(max(np.floor(j), 0), len(dirs) - 2))
        tx, ty = dirs[j0] + (j - j0) * (dirs[j0 + 1] - dirs[j0])
        d = mod_to_itrf @ body_to_mod @ np.array([ty, tx, 1.0])
        d /= np.linalg.norm(d)
        # Newton on the ray parameter s: height(sat + s d) = h
        s = 700e3
        for _ in range(50):
            lon, lat, hh = geodetic_height(sat + s * d)
            up = np.array([np.cos(np.radians(lat)) * np.cos(np.radians(lon)),
                           np.cos(np.radians(lat)) * np.sin(np.radians(lon)), np.sin(np.radians(lat))])
            step = (hh - h) / -np.dot(d, up)
            s += step
            if abs(step) < 1e-6:
                break
        lon, lat, hh = geodetic_height(sat + s * d)
        out.append([lon, lat, hh])
    if "epsg" in case:
        from pyproj import Transformer
        to_map = Transformer.from_crs("EPSG:4326", "EPSG:%d" % case["epsg"], always_xy=True)
        out = [[*to_map.transform(lon, lat), h] for lon, lat, h in out]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
