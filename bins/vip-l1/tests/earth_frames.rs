//! The Earth model of the real-orbit geometry (`vip::geometry::earth`) against independent
//! programs: GDAL's `gdaltransform` (PROJ) for WGS 84 geodetic ↔ Earth-centred coordinates,
//! and ERFA (the IAU's SOFA routines, through the Python `erfa` package of the test venv) for
//! the sidereal times and the rotations from the mean-of-date and TEME frames to ITRF.

use chrono::{Datelike, NaiveDateTime, Timelike};
use vip::geometry::earth::{
    distance, ecef_to_geodetic, geodetic_to_ecef, mul3, transpose, EarthOrientation, Frames, Mat3,
};

/// gdaltransform from `from` to `to` of the points `pts` (three coordinates each).
fn gdaltransform(from: &str, to: &str, pts: &[[f64; 3]]) -> Vec<[f64; 3]> {
    let input: String = pts
        .iter()
        .map(|p| format!("{:.12} {:.12} {:.6}\n", p[0], p[1], p[2]))
        .collect();
    let r = vip_testkit::run_with_stdin("gdaltransform", &["-s_srs", from, "-t_srs", to], &input);
    r.code(0);
    r.stdout
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            [v[0], v[1], v[2]]
        })
        .collect()
}

#[test]
fn wgs84_coordinates_agree_with_proj() {
    // VENµS sites, the satellite's altitude, the poles' neighbourhood, the antimeridian
    let pts = [
        [35.5, 33.1, 1170.0],
        [4.6, 43.5, -10.0],
        [-60.2, -2.1, 120.0],
        [179.99, -77.8, 3000.0],
        [-45.0, 89.5, 720_000.0],
        [120.0, 10.0, 720_000.0],
    ];
    let ecef = gdaltransform("EPSG:4979", "EPSG:4978", &pts);
    for (p, e) in pts.iter().zip(&ecef) {
        let ours = geodetic_to_ecef(p[0], p[1], p[2]);
        let d = distance(ours, *e);
        assert!(d < 1e-3, "{p:?}: ours {ours:?}, PROJ {e:?}");
        let (lon, lat, h) = ecef_to_geodetic(*e);
        assert!(
            (lon - p[0]).abs() < 1e-9 && (lat - p[1]).abs() < 1e-9 && (h - p[2]).abs() < 1e-3,
            "{p:?}: back {lon} {lat} {h}"
        );
    }
}

/// The angle (mas) of the rotation a · bᵀ: how far two rotation matrices differ.
fn angle_mas(a: &Mat3, b: &Mat3) -> f64 {
    let r = mul3(*a, transpose(b));
    let c = ((r[0][0] + r[1][1] + r[2][2] - 1.0) / 2.0).clamp(-1.0, 1.0);
    // acos loses precision near 1: use the antisymmetric part instead
    let s =
        ((r[2][1] - r[1][2]).powi(2) + (r[0][2] - r[2][0]).powi(2) + (r[1][0] - r[0][1]).powi(2))
            .sqrt()
            / 2.0;
    s.atan2(c).to_degrees() * 3.6e6
}

const ERFA: &str = r#"
import json, sys
import erfa, numpy as np
out = []
for case in json.loads(sys.argv[1]):
    (y, mo, d, h, mi, s), (xp, yp, dut1) = case
    u1, u2 = erfa.dtf2d("UTC", y, mo, d, h, mi, s)
    tt = erfa.taitt(*erfa.utctai(u1, u2))
    ut1 = erfa.utcut1(u1, u2, dut1)
    das2r = np.pi / 648000.0
    pom = erfa.pom00(xp * das2r, yp * das2r, 0.0)
    gst, gmst = erfa.gst94(*ut1), erfa.gmst82(*ut1)
    out.append({
        "gmst": gmst, "gast": gst,
        "mod_to_itrf": (pom @ erfa.rz(gst, np.eye(3)) @ erfa.nutm80(*tt)).tolist(),
        "teme_to_itrf": (pom @ erfa.rz(gmst, np.eye(3))).tolist(),
    })
print(json.dumps(out))
"#;

#[test]
fn celestial_to_terrestrial_rotations_agree_with_erfa() {
    let cases = [
        ("2018-01-01T10:51:48.123", (0.05, 0.28, 0.22)),
        ("2019-02-04T08:34:32", (0.11, 0.32, -0.03)),
        ("2024-06-15T10:30:00", (0.16, 0.45, 0.01)),
        ("2026-12-04T23:59:59.5", (-0.02, 0.30, -0.1)),
        ("2035-03-20T00:00:00", (0.0, 0.0, 0.0)),
    ];
    let args: Vec<_> = cases
        .iter()
        .map(|(t, eop)| {
            let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").unwrap();
            let s = f64::from(t.second()) + f64::from(t.nanosecond()) * 1e-9;
            serde_json::json!([
                [t.year(), t.month(), t.day(), t.hour(), t.minute(), s],
                [eop.0, eop.1, eop.2]
            ])
        })
        .collect();
    let erfa: Vec<serde_json::Value> = serde_json::from_str(&vip_testkit::python_oracle(
        ERFA,
        &[&serde_json::Value::Array(args).to_string()],
    ))
    .unwrap();
    let matrix = |v: &serde_json::Value| -> Mat3 {
        std::array::from_fn(|i| std::array::from_fn(|j| v[i][j].as_f64().unwrap()))
    };
    for ((t, eop), e) in cases.iter().zip(&erfa) {
        let utc = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").unwrap();
        let f = Frames::at(
            utc,
            &EarthOrientation {
                x_pole: eop.0,
                y_pole: eop.1,
                ut1_utc: eop.2,
            },
        )
        .unwrap();
        let mas = |rad: f64| rad.to_degrees() * 3.6e6;
        let d_gmst = mas(f.gmst - e["gmst"].as_f64().unwrap());
        let d_gast = mas(f.gast - e["gast"].as_f64().unwrap());
        let d_mod = angle_mas(&f.mod_to_itrf, &matrix(&e["mod_to_itrf"]));
        let d_teme = angle_mas(&f.teme_to_itrf, &matrix(&e["teme_to_itrf"]));
        eprintln!(
            "{t}: GMST {d_gmst:.3} mas, GAST {d_gast:.3} mas, MOD→ITRF {d_mod:.3} mas, TEME→ITRF {d_teme:.3} mas"
        );
        // GMST to the f64 rounding of the day count; with the nutation series truncated at
        // 1 mas, the equinox (GAST) moves by up to 2.8 mas, the frame (MOD → ITRF) by 1.2
        assert!(d_gmst.abs() < 0.1 && d_teme < 0.1, "{t}");
        assert!(d_gast.abs() < 5.0 && d_mod < 2.0, "{t}");
    }
}
