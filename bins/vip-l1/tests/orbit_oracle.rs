//! The real-orbit sensor model (`vip::geometry::orbital`) against an independent oracle
//! (`scripts/oracles/orbit_pixels.py`: Lagrange ephemeris, scipy's quaternion slerp, ERFA's
//! Earth rotation, its own ellipsoid intersection): the simulator's orbit and attitude are
//! written as the ICD files (GPSDTA, AOCDTA, EORDTA), read back as vip-l1 reads them, and
//! pixels across a whole 5200 × 5200 band, on the ellipsoid and 1000 m above it, must land
//! within 0.1 pixel of where the oracle puts them, at roll 0°, ±15° and ±30°.

use chrono::NaiveDate;
use vip::ee::auxdata::{self, AuxId};
use vip::ee::eordta::{self, EopDay};
use vip::geometry::earth::{distance, geodetic_to_ecef, EarthOrientation};
use vip::geometry::orbit::{Attitude, Ephemeris};
use vip::geometry::orbital::{OrbitalBand, OrbitalModel};
use vip::geometry::sensor::Datation;
use vip::geometry::time::add_seconds;
use vip::sim::orbit::{aux_samples, roll_towards, Orbit};

const PIXEL_M: f64 = 5.0;

#[test]
fn pixels_land_where_an_independent_model_puts_them() {
    let t = NaiveDate::from_ymd_opt(2024, 6, 15)
        .unwrap()
        .and_hms_opt(8, 30, 0)
        .unwrap();
    let eop = EarthOrientation {
        x_pole: 0.16,
        y_pole: 0.45,
        ut1_utc: 0.0116,
    };
    let (lon0, lat0) = (35.5, 31.0);
    let dir = tempfile::tempdir().unwrap();
    let days: Vec<EopDay> = (14..=16)
        .map(|d| EopDay {
            date: NaiveDate::from_ymd_opt(2024, 6, d).unwrap(),
            eop: EarthOrientation {
                x_pole: eop.x_pole + 0.002 * (f64::from(d) - 15.0),
                ..eop
            },
        })
        .collect();
    let midnight = |d: &EopDay| d.date.and_hms_opt(0, 0, 0).unwrap();
    let eordta = eordta::write_eordta(
        dir.path(),
        "TEST",
        &days,
        (midnight(&days[0]), midnight(&days[2])),
    )
    .unwrap();
    let eop_table = eordta::read_eordta(&eordta).unwrap();
    // a bent array: tan ψY varies across it; 5.3 m detectors at nadir from 720 km
    let band = OrbitalBand {
        datation: Datation {
            line_ref: 2600.0,
            time_ref: t,
            te: 0.78e-3,
        },
        first_detector: 0,
        view_dirs: (0..5200)
            .map(|j| {
                let u = (j as f64 - 2599.5) / 2600.0;
                (u * 2600.0 * 5.3 / 720e3, 1e-3 + 2e-4 * u * u)
            })
            .collect(),
        array_to_body: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    };
    for (roll_name, across) in [
        ("0°", 0.0),
        ("15°", 195e3),
        ("-15°", -195e3),
        ("30°", 420e3),
        ("-30°", -420e3),
    ] {
        let o = Orbit::pass_over(lon0, lat0, t, across, eop).unwrap();
        let roll = roll_towards(&o.state(t).unwrap(), geodetic_to_ecef(lon0, lat0, 0.0));
        let (gps, att) =
            aux_samples(&o, roll, (add_seconds(t, -3.0), add_seconds(t, 3.0)), 4.0).unwrap();
        let id = AuxId {
            class: "TEST".into(),
            site_type: 'S',
            nick: "SIMULSIT".into(),
            orbit: 7993,
            serial: 1,
        };
        let gpsdta = dir.path().join(format!("{}.EEF", id.file_name("GPSDTA")));
        let aocdta = dir.path().join(format!("{}.EEF", id.file_name("AOCDTA")));
        auxdata::gpsdta(&id, &gps).unwrap().write(&gpsdta).unwrap();
        auxdata::aocdta(&id, &att).unwrap().write(&aocdta).unwrap();
        let ephemeris = Ephemeris::new(&auxdata::read_gpsdta(&gpsdta).unwrap(), &gpsdta).unwrap();
        let attitude = Attitude::new(&auxdata::read_aocdta(&aocdta).unwrap(), &aocdta).unwrap();
        let m = OrbitalModel {
            ephemeris: &ephemeris,
            attitude: &attitude,
            eop: &eop_table,
            band: &band,
        };
        let mut pixels = vec![];
        for line in [0.0, 1300.5, 2600.0, 5199.0] {
            for col in [0.0, 2599.5, 5199.0] {
                for h in [0.0, 1000.0] {
                    pixels.push((line, col, h));
                }
            }
        }
        let case = serde_json::json!({
            "gpsdta": gpsdta, "aocdta": aocdta, "eordta": eordta,
            "band": {
                "time_ref": t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                "line_ref": band.datation.line_ref, "te": band.datation.te,
                "first_detector": band.first_detector,
                "view_dirs": band.view_dirs.iter().map(|d| [d.0, d.1]).collect::<Vec<_>>(),
            },
            "pixels": pixels.iter().map(|p| [p.0, p.1, p.2]).collect::<Vec<_>>(),
        });
        let case_path = dir.path().join("case.json");
        std::fs::write(&case_path, case.to_string()).unwrap();
        let script = vip_testkit::project_root().join("scripts/oracles/orbit_pixels.py");
        let python = vip_testkit::python();
        let r = vip_testkit::run(python.to_str().unwrap(), &[&script, &case_path]);
        r.code(0);
        let theirs: Vec<[f64; 3]> = serde_json::from_str(&r.stdout).unwrap();
        let mut worst = 0.0f64;
        for ((line, col, h), th) in pixels.iter().zip(&theirs) {
            let (lon, lat, hh) = m.locate(*line, *col, |_, _| *h).unwrap();
            assert!((hh - h).abs() < 1e-3);
            let a = geodetic_to_ecef(lon, lat, *h);
            let b = geodetic_to_ecef(th[0], th[1], th[2]);
            let d = distance(a, b);
            worst = worst.max(d);
        }
        eprintln!(
            "roll {roll_name} ({roll:.2}° to reach the site): worst of {} pixels {:.4} m = {:.4} px from the oracle",
            pixels.len(),
            worst,
            worst / PIXEL_M
        );
        assert!(worst / PIXEL_M < 0.1, "roll {roll_name}: {worst} m");
    }
}
