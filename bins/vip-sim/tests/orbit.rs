//! The simulator's orbit (`vip::sim::orbit`) against independent programs: the same mean
//! elements propagated by Vallado's SGP4 (the Python `sgp4` package, WGS 84 constants,
//! improved mode) and turned from TEME into ITRF by ERFA (Python `erfa`: IAU 1982 sidereal
//! time, polar motion), both in the test venv.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use vip::geometry::earth::{distance, ecef_to_geodetic, EarthOrientation};
use vip::geometry::time::add_seconds;
use vip::sim::orbit::Orbit;

const ORACLE: &str = r#"
import json, sys
import erfa, numpy as np
from sgp4.api import Satrec, WGS84
case = json.loads(sys.argv[1])
e = case["elements"]
d1, d2 = erfa.dtf2d("UTC", *e["epoch"])
sat = Satrec()
deg = np.pi / 180.0
sat.sgp4init(WGS84, "i", 0, d1 + d2 - 2433281.5, 0.0, 0.0, 0.0, e["ecc"], e["argp"] * deg,
             e["incl"] * deg, e["mean_anomaly"] * deg, e["mean_motion"] * 2 * np.pi / 1440.0,
             e["raan"] * deg)
xp, yp, dut1 = case["eop"]
pom = erfa.pom00(xp * np.pi / 648000.0, yp * np.pi / 648000.0, 0.0)
out = []
for t in case["instants"]:
    u1, u2 = erfa.dtf2d("UTC", *t)
    tai = erfa.utctai(u1, u2)
    err, r, v = sat.sgp4(u1, u2)
    assert err == 0, err
    gmst = erfa.gmst82(*erfa.utcut1(u1, u2, dut1))
    rz = erfa.rz(gmst, np.eye(3))
    r_pef = rz @ (np.array(r) * 1000.0)
    v_pef = rz @ (np.array(v) * 1000.0) - np.cross([0.0, 0.0, 7.292115146706979e-5], r_pef)
    out.append({"position": (pom @ r_pef).tolist(), "velocity": (pom @ v_pef).tolist()})
print(json.dumps(out))
"#;

fn ymdhms(t: NaiveDateTime) -> serde_json::Value {
    let s = f64::from(t.second()) + f64::from(t.nanosecond()) * 1e-9;
    serde_json::json!([t.year(), t.month(), t.day(), t.hour(), t.minute(), s])
}

#[test]
fn sgp4_and_earth_rotation_agree_with_vallado_and_erfa() {
    let t0 = NaiveDate::from_ymd_opt(2024, 6, 15)
        .unwrap()
        .and_hms_milli_opt(8, 31, 7, 250)
        .unwrap();
    let eop = EarthOrientation {
        x_pole: 0.16,
        y_pole: 0.45,
        ut1_utc: 0.012,
    };
    // Israel, 30° of roll to the right; the Amazon, 15° to the left; a site at 77° S
    for (lon, lat, across) in [
        (35.5, 31.0, 420e3),
        (-60.2, -2.1, -195e3),
        (166.7, -77.8, 0.0),
    ] {
        let o = Orbit::pass_over(lon, lat, t0, across, eop).unwrap();
        let instants: Vec<NaiveDateTime> =
            (-3..=3).map(|k| add_seconds(t0, 5.0 * k as f64)).collect();
        let e = &o.elements;
        let case = serde_json::json!({
            "elements": {
                "epoch": ymdhms(e.datetime), "incl": e.inclination, "raan": e.right_ascension,
                "ecc": e.eccentricity, "argp": e.argument_of_perigee,
                "mean_anomaly": e.mean_anomaly, "mean_motion": e.mean_motion,
            },
            "eop": [eop.x_pole, eop.y_pole, eop.ut1_utc],
            "instants": instants.iter().map(|t| ymdhms(*t)).collect::<Vec<_>>(),
        });
        let theirs: Vec<serde_json::Value> =
            serde_json::from_str(&vip_testkit::python_oracle(ORACLE, &[&case.to_string()]))
                .unwrap();
        let (mut dr, mut dv) = (0.0f64, 0.0f64);
        for (t, th) in instants.iter().zip(&theirs) {
            let s = o.state(*t).unwrap();
            let v3 = |k: &str| -> [f64; 3] { std::array::from_fn(|i| th[k][i].as_f64().unwrap()) };
            let (p, v) = (v3("position"), v3("velocity"));
            dr = dr.max(distance(s.position, p));
            dv = dv.max(distance(s.velocity, v));
        }
        let (_, _, h) = ecef_to_geodetic(o.state(t0).unwrap().position);
        eprintln!(
            "pass over ({lon}, {lat}), {across} m aside: altitude {:.1} km, position within {dr:.4} m, velocity within {dv:.6} m/s of SGP4 + ERFA",
            h / 1e3
        );
        // 4.5 cm, the same at every instant: the two implementations round the WGS 84
        // geopotential constants differently (0.01 of a 5 m pixel)
        assert!(dr < 0.1 && dv < 1e-4, "{dr} {dv}");
    }
}
