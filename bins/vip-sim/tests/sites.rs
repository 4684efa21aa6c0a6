//! Any site: a known VENµS site in the southern hemisphere, a place given by --lat/--lon south
//! of the equator and one at 70° N in summer are simulated in their own UTM zone, at the VENµS
//! pass time of their longitude, and vip-l1 puts them back where they are: the L1C's centre,
//! read by gdalinfo (GDAL/PROJ, not our code), lies on the site, and the L1C on the site grid
//! lies on the truth to a fraction of a pixel (registered on the landscape's sharp edges) and
//! gives its values back where it is smooth.

use std::path::{Path, PathBuf};
use std::process::Command;

use vip_testkit::{read_band, run};

const SIM: &str = env!("CARGO_BIN_EXE_vip-sim");

/// Simulates a 96 × 96 site with `place` flags on `date` into `dir`; returns the L1A header.
fn simulate(dir: &Path, place: &[&str], date: &str) -> PathBuf {
    let mut args = vec!["scene", "--lines", "96", "--cols", "96", "--seed", "5"];
    args.extend_from_slice(place);
    args.extend_from_slice(&["--date", date, "-q", "-o", dir.to_str().unwrap()]);
    let r = run(SIM, &args);
    r.code(0);
    r.paths().remove(0)
}

/// The L1C of a simulated scene, on the site grid (`site`) or on vip-l1's own footprint grid.
fn l1c(scene: &Path, l1a: &Path, out: &Path, site: bool) -> PathBuf {
    vip::level1::process(
        l1a,
        &scene.join("GIPP"),
        &scene.join("DEM.tif"),
        &vip::level1::L1Options {
            site: site.then(|| scene.join("site.json")),
            ..Default::default()
        },
        &vip::cli::Options {
            output: out.to_path_buf(),
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap()
}

fn image(hdr: &Path) -> PathBuf {
    vip::product::L1c::open(hdr)
        .unwrap()
        .image_path(hdr.parent().unwrap())
}

/// (EPSG code, centre lon, centre lat) of a raster as gdalinfo reports them.
fn gdal_centre(path: &Path) -> (u32, f64, f64) {
    let out = Command::new("gdalinfo")
        .arg("-json")
        .arg(path)
        .output()
        .expect("gdalinfo installed");
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let wkt = j["coordinateSystem"]["wkt"].as_str().unwrap();
    let epsg = wkt
        .rsplit("ID[\"EPSG\",")
        .next()
        .and_then(|t| t.split(']').next())
        .and_then(|t| t.parse().ok())
        .unwrap();
    let ring = j["wgs84Extent"]["coordinates"][0].as_array().unwrap();
    let corners = &ring[..4];
    let mean = |k: usize| corners.iter().map(|p| p[k].as_f64().unwrap()).sum::<f64>() / 4.0;
    (epsg, mean(0), mean(1))
}

/// Largest span of a 5 × 5 truth neighbourhood counted as smooth (reflectance), as in vip-l1's
/// round trip: across the pixel-sharp edges of the landscape (field borders, roads, crowns) no
/// resampling gives the truth back, so the value check is held where the truth is smooth.
const SMOOTH: f64 = 0.02;

/// The L1C of bands B03, B07, B11 next to their truth, for comparisons `BORDER` pixels from
/// the edges.
struct Pair {
    /// (L1C reflectance or NaN where no data, truth) per band.
    bands: Vec<(Vec<f64>, Vec<f64>)>,
    w: usize,
    h: usize,
}

const BORDER: usize = 4;

impl Pair {
    fn read(scene: &Path, l1c_hdr: &Path) -> Pair {
        let img = image(l1c_hdr);
        let (mut w, mut h) = (0, 0);
        let bands = [3usize, 7, 11]
            .into_iter()
            .map(|b| {
                let (l1c, lw, lh) = read_band(&img, b);
                let (truth, tw, th) = read_band(&scene.join(format!("truth/TOA_B{b:02}.tif")), 1);
                assert_eq!((lw, lh), (tw, th));
                (w, h) = (lw, lh);
                let l1c = l1c
                    .iter()
                    .map(|&v| if v == -10000.0 { f64::NAN } else { v * 0.001 })
                    .collect();
                (l1c, truth)
            })
            .collect();
        Pair { bands, w, h }
    }

    /// 99th percentile of |L1C − truth| where the truth is smooth, and the number compared.
    fn p99_where_smooth(&self) -> (f64, usize) {
        let (w, h) = (self.w, self.h);
        let mut errs = Vec::new();
        for (l1c, truth) in &self.bands {
            for r in BORDER..h - BORDER {
                for c in BORDER..w - BORDER {
                    let near = (r - 2..=r + 2)
                        .flat_map(|y| (c - 2..=c + 2).map(move |x| truth[y * w + x]));
                    let span =
                        near.clone().fold(f64::MIN, f64::max) - near.fold(f64::MAX, f64::min);
                    let v = l1c[r * w + c];
                    if span < SMOOTH && !v.is_nan() {
                        errs.push((v - truth[r * w + c]).abs());
                    }
                }
            }
        }
        errs.sort_by(f64::total_cmp);
        (errs[(errs.len() as f64 * 0.99) as usize], errs.len())
    }

    /// Mean square of L1C(r + dr, c + dc) − truth(r, c) over every pixel, edges included.
    fn mse(&self, dr: isize, dc: isize) -> f64 {
        let (w, h) = (self.w as isize, self.h as isize);
        let b = BORDER as isize;
        let (mut sum, mut n) = (0.0, 0usize);
        for (l1c, truth) in &self.bands {
            for r in b..h - b {
                for c in b..w - b {
                    let v = l1c[((r + dr) * w + c + dc) as usize];
                    if !v.is_nan() {
                        sum += (v - truth[(r * w + c) as usize]).powi(2);
                        n += 1;
                    }
                }
            }
        }
        sum / n as f64
    }

    /// Where the L1C lies against the truth, pixels (rows, columns): the minimum of the mean
    /// square difference over shifts of -1, 0, 1 pixel, refined by a parabola along each axis.
    /// Panics unless the unshifted comparison is the best of the 3 × 3.
    fn offset(&self) -> (f64, f64) {
        let m: Vec<Vec<f64>> = (-1..=1)
            .map(|dr| (-1..=1).map(|dc| self.mse(dr, dc)).collect())
            .collect();
        let best = m.iter().flatten().copied().fold(f64::MAX, f64::min);
        assert_eq!(best, m[1][1], "best shift is not (0, 0): {m:?}");
        let vertex = |a: f64, o: f64, b: f64| 0.5 * (a - b) / (a - 2.0 * o + b);
        (
            vertex(m[0][1], m[1][1], m[2][1]),
            vertex(m[1][0], m[1][1], m[1][2]),
        )
    }
}

#[test]
fn southern_and_high_latitude_sites_simulate_and_orthorectify_where_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    // (flags, date, EPSG, lon, lat): a real VENµS site south of the equator (UTM 21 S), a place
    // at 33.9° S (UTM 34 S, southern summer), one at 70° N at midsummer (UTM 35 N).
    let cases: [(&[&str], &str, u32, f64, f64); 3] = [
        (&["--site", "ATTO"], "2024-08-01", 32721, -59.0033, -2.1483),
        (
            &["--site", "SOUTHSIT", "--lat", "-33.9", "--lon", "18.9"],
            "2024-01-15",
            32734,
            18.9,
            -33.9,
        ),
        (
            &["--site", "NORTHSIT", "--lat=70", "--lon=25"],
            "2024-06-20",
            32635,
            25.0,
            70.0,
        ),
    ];
    for (i, (place, date, epsg, lon, lat)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("S{i}"));
        let l1a = simulate(&dir, place, date);
        let site = vip::geometry::grid::Site::read(&dir.join("site.json")).unwrap();
        assert_eq!(site.epsg, epsg, "{place:?}");
        // The VENµS pass: 10:30 local mean solar time, 4 minutes of UTC per degree of longitude.
        let hms: Vec<f64> = site.acquisition[11..]
            .split(':')
            .map(|v| v.parse().unwrap())
            .collect();
        let local_min = hms[0] * 60.0 + hms[1] + hms[2] / 60.0 + 4.0 * lon;
        assert!(
            (local_min.rem_euclid(1440.0) - 630.0).abs() < 0.02,
            "{place:?}: {} UTC is not 10:30 local",
            site.acquisition
        );

        // vip-l1 on its own grid: the footprint is centred on the site (within 50 m).
        let free = l1c(&dir, &l1a, &tmp.path().join(format!("F{i}")), false);
        let (e, clon, clat) = gdal_centre(&image(&free));
        assert_eq!(e, epsg, "{place:?}");
        let metres = ((clon - lon) * lat.to_radians().cos()).hypot(clat - lat) * 111_200.0;
        eprintln!("{place:?}: L1C centre ({clon:.5}, {clat:.5}), {metres:.0} m from the site");
        assert!(metres < 50.0, "{place:?}: L1C centre {metres:.0} m away");

        // On the site grid the L1C lies on the truth: the sharp edges of the landscape
        // register it to a fraction of a pixel (0.2 px is 1 m), and where the truth is smooth
        // the values come back.
        let on_site = l1c(&dir, &l1a, &tmp.path().join(format!("G{i}")), true);
        let pair = Pair::read(&dir, &on_site);
        let (dr, dc) = pair.offset();
        let (p99, n) = pair.p99_where_smooth();
        eprintln!(
            "{place:?}: L1C offset against the truth ({dr:+.3}, {dc:+.3}) px; p99 |L1C - truth| \
             {p99:.4} where smooth ({n} px); rms over every pixel {:.4}, one column off {:.4}",
            pair.mse(0, 0).sqrt(),
            pair.mse(0, 1).sqrt()
        );
        assert!(
            dr.abs() < 0.2 && dc.abs() < 0.2,
            "{place:?}: offset ({dr}, {dc}) px"
        );
        assert!(n > 3 * 88 * 88 / 5, "{place:?}: only {n} smooth pixels");
        assert!(p99 < 0.003, "{place:?}: {p99}");
    }
}

#[test]
fn bad_places_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let o = tmp.path().join("S");
    let o = o.to_str().unwrap();
    run(SIM, &["scene", "--site", "NOWHERE", "-o", o])
        .code(2)
        .one_error_line("--site NOWHERE: unknown site; known sites: SIMULSIT, CAMARGUE");
    for (lat, needle) in [("81.5", "--lat 81.5"), ("-90", "--lat -90")] {
        run(SIM, &["scene", "--lat", lat, "--lon", "3", "-o", o])
            .code(2)
            .one_error_line(needle);
    }
    run(SIM, &["scene", "--lat", "45", "--lon", "200", "-o", o])
        .code(2)
        .one_error_line("--lon 200");
    run(SIM, &["scene", "--lat", "45", "-o", o]).code(2);
    assert!(!Path::new(o).exists());
}
