//! vip-sim scene --clouds: the B05/B06 parallax of a cloud on the L1C against the viewing
//! geometry, shadows against the sun geometry and the layer's transmittance, refusals,
//! determinism.

use std::path::{Path, PathBuf};

use vip::geometry::lonlat::MapToLonLat;
use vip::geometry::sun::SunEphemeris;
use vip::sim::clouds::{direct_transmittance, transmittance, CloudSpec, Kind, Layer, ASYMMETRY};
use vip_testkit::{files, read_band, run, SimScene};

const SIM: &str = env!("CARGO_BIN_EXE_vip-sim");
const SIDE: u32 = 320;
const PX: f64 = 5.0;

fn spec() -> vip::sim::SceneSpec {
    vip::sim::SceneSpec::new("SIMULSIT", "2024-06-21", "11:30:00", SIDE, SIDE, 3, 0.0).unwrap()
}

/// A flat site under one cumulus layer `height_m` above the ground, near noon in June (a
/// high sun, so the shadows fall inside the site), and its L1C.
fn cloudy(height_m: f64) -> (SimScene, PathBuf) {
    let mut spec = spec();
    spec.clouds = Some(CloudSpec {
        seed: 11,
        layers: vec![Layer {
            kind: Kind::Cumulus,
            height_m,
            cover: 0.35,
            tau: (4.0, 30.0),
        }],
    });
    let s = SimScene::of(spec);
    let l1c = s.l1c();
    (s, l1c)
}

fn truth(s: &SimScene, name: &str) -> Vec<f64> {
    read_band(&s.dir.join(format!("truth/{name}.tif")), 1).0
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The offset (columns, rows) d maximising the normalised correlation of b(x + d) with a(x),
/// searched within `radius` pixels of `guess`, refined to sub-pixel by a parabola on each axis.
fn offset(a: &[f64], b: &[f64], n: usize, guess: (f64, f64), radius: i64) -> (f64, f64) {
    let (gx, gy) = (guess.0.round() as i64, guess.1.round() as i64);
    let score = |dx: i64, dy: i64| {
        let (mut sa, mut sb, mut sab, mut saa, mut sbb, mut k) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for y in 0..n as i64 {
            let yb = y + dy;
            if yb < 0 || yb >= n as i64 {
                continue;
            }
            for x in 0..n as i64 {
                let xb = x + dx;
                if xb < 0 || xb >= n as i64 {
                    continue;
                }
                let (u, v) = (
                    a[y as usize * n + x as usize],
                    b[yb as usize * n + xb as usize],
                );
                sa += u;
                sb += v;
                sab += u * v;
                saa += u * u;
                sbb += v * v;
                k += 1.0;
            }
        }
        (sab - sa * sb / k) / ((saa - sa * sa / k) * (sbb - sb * sb / k)).sqrt()
    };
    let mut best = (f64::MIN, 0, 0);
    for dy in gy - radius..=gy + radius {
        for dx in gx - radius..=gx + radius {
            let c = score(dx, dy);
            if c > best.0 {
                best = (c, dx, dy);
            }
        }
    }
    let (c, x, y) = best;
    assert!(
        (x - gx).abs() < radius && (y - gy).abs() < radius,
        "correlation peak on the search border: ({x}, {y}) from ({gx}, {gy})"
    );
    let vertex = |m: f64, p: f64| 0.5 * (m - p) / (m - 2.0 * c + p);
    (
        x as f64 + vertex(score(x - 1, y), score(x + 1, y)),
        y as f64 + vertex(score(x, y - 1), score(x, y + 1)),
    )
}

/// On the L1C, a cloud 2.5 km above flat ground appears in B06 shifted from B05 by
/// −(z − h)·(d06 − d05), d the bands' viewing directions (the L1C's VIE grid, from the VIEDIR
/// tables); the shadow truth is the cloud footprint shifted away from the sun by
/// (z − h)·tan θs and holds its closed-form transmittance, and the L1C is that much darker there.
#[test]
fn clouds_show_their_parallax_and_cast_their_shadows() {
    let (s, hdr) = cloudy(2500.0);
    let n = SIDE as usize;
    let z = json(&s.dir.join("truth/clouds.json"))["altitudes_m"][0]
        .as_f64()
        .unwrap();
    let dem = read_band(&s.dem(), 1).0;
    let h = dem[dem.len() / 2];
    assert!(dem.iter().all(|&v| (v - h).abs() < 1e-3), "flat terrain");
    assert!((z - h - 2500.0).abs() < 1e-3, "{z} {h}");

    // Parallax: B06 against B05 on the cloud's brightening (L1C minus the clear-sky truth,
    // negative parts, i.e. shadows on the ground, left out).
    let l1c = vip::product::L1c::open(&hdr).unwrap();
    let dir = hdr.parent().unwrap();
    let image = l1c.image_path(dir);
    let excess = |b: usize| -> Vec<f64> {
        let (v, w, hgt) = read_band(&image, b);
        assert_eq!((w, hgt), (n, n));
        let clear = truth(&s, &format!("TOA_B{b:02}"));
        v.iter()
            .zip(&clear)
            .map(|(&q, &t)| (q * 0.001 - t).max(0.0))
            .collect()
    };
    let (b05, b06) = (excess(5), excess(6));
    let vie = l1c.annex_path(dir, "VIE");
    // The VIE grid's nodes are `step` apart from the site's corner: bilinear at its centre.
    let half = PX * n as f64 / 2.0 / l1c.site.angle_grid_step_m;
    let mean = |plane: usize| {
        let (v, w, _) = read_band(&vie, plane);
        let at = |i: usize, j: usize| v[i * w + j];
        (at(0, 0) * (1.0 - half) + at(0, 1) * half) * (1.0 - half)
            + (at(1, 0) * (1.0 - half) + at(1, 1) * half) * half
    };
    // VIE planes: B05 DX, DY first, B06 DX, DY last (VIE_BANDS).
    let (d05, d06) = ((mean(1), mean(2)), (mean(7), mean(8)));
    let east = -(z - h) * (d06.0 - d05.0);
    let north = -(z - h) * (d06.1 - d05.1);
    let predicted = (east / PX, -north / PX);
    let measured = offset(&b05, &b06, n, predicted, 6);
    eprintln!(
        "B05→B06 cloud offset (columns, rows): predicted {predicted:?}, measured {measured:?}"
    );
    assert!(
        predicted.0.hypot(predicted.1) > 8.0,
        "a 2.5 km cloud shows a parallax of ~12 px: {predicted:?}"
    );
    assert!(
        (measured.0 - predicted.0).abs() < 0.2 && (measured.1 - predicted.1).abs() < 0.2,
        "predicted {predicted:?}, measured {measured:?}"
    );

    // Shadows: the sun at the site centre, its azimuth turned into the map grid (meridian
    // convergence from PROJ).
    let site = json(&s.site_json());
    let (ulx, uly) = (site["ulx"].as_f64().unwrap(), site["uly"].as_f64().unwrap());
    let (ce, cn) = (ulx + PX * n as f64 / 2.0, uly - PX * n as f64 / 2.0);
    let proj = MapToLonLat::new(site["epsg"].as_u64().unwrap() as u32).unwrap();
    let (lon, lat) = proj.lonlat(ce, cn).unwrap();
    let (lon2, lat2) = proj.lonlat(ce, cn + 1000.0).unwrap();
    let convergence = ((lon2 - lon) * lat.to_radians().cos()).atan2(lat2 - lat);
    let when = spec();
    let sun = SunEphemeris::at(when.date.and_time(when.time)).angles(lat, lon);
    let (tan, az) = (
        sun.zenith.to_radians().tan(),
        sun.azimuth.to_radians() - convergence,
    );
    let mu = sun.zenith.to_radians().cos();
    // The shadow of the cloud over (E, N) falls at (E, N) − (z − h)·tan θs·(sin φ, cos φ).
    let (se, sn) = (-(z - h) * tan * az.sin(), -(z - h) * tan * az.cos());
    let cast = (se / PX, -sn / PX);
    let tau = truth(&s, "CLD_THICK");
    let shd = truth(&s, "SHD");
    let darkening: Vec<f64> = tau
        .iter()
        .map(|&t| 1.0 - direct_transmittance(mu, t))
        .collect();
    let shadow: Vec<f64> = shd.iter().map(|&v| 1.0 - v).collect();
    let measured = offset(&darkening, &shadow, n, cast, 6);
    eprintln!("footprint→shadow offset (columns, rows): predicted {cast:?}, measured {measured:?}");
    assert!(
        (measured.0 - cast.0).abs() < 1.0 && (measured.1 - cast.1).abs() < 1.0,
        "predicted {cast:?}, measured {measured:?}"
    );
    // The shadow's value is the closed-form direct transmittance of the footprint it comes
    // from.
    let (dx, dy) = (cast.0.round() as i64, cast.1.round() as i64);
    let mut worst: f64 = 0.0;
    let mut shaded = 0;
    for y in 0..n as i64 {
        for x in 0..n as i64 {
            let (xs, ys) = (x + dx, y + dy);
            if xs < 0 || ys < 0 || xs >= n as i64 || ys >= n as i64 {
                continue;
            }
            let (i, j) = (y as usize * n + x as usize, ys as usize * n + xs as usize);
            // Only where the footprint's transmittance is smooth at the pixel scale (rounding
            // the offset), across and along.
            let t = |k: usize| direct_transmittance(mu, tau[k]);
            let smooth = [i.saturating_sub(1), i.saturating_sub(n)]
                .iter()
                .all(|&k| (t(i) - t(k)).abs() < 0.01);
            if smooth && tau[i] > 1.0 {
                worst = worst.max((shd[j] - direct_transmittance(mu, tau[i])).abs());
                shaded += 1;
            }
        }
    }
    assert!(shaded > 500, "{shaded} shadow pixels");
    assert!(
        worst < 0.03,
        "shadow truth off its transmittance by {worst}"
    );

    // The L1C in the open shadow (no cloud on B07's line of sight nor overhead, away from
    // edges) is the clear-sky TOA times the cloud's whole transmittance, direct and diffuse
    // (no atmosphere here): T(μs, τ) for the τ whose direct transmittance SHD holds.
    let (l1c07, _, _) = read_band(&image, 7);
    let clear = truth(&s, "TOA_B07");
    let seen = truth(&s, "CLD_SEEN");
    let near = |v: &[f64], i: usize, f: &dyn Fn(f64) -> bool| {
        let (x, y) = (i % n, i / n);
        (y.saturating_sub(3)..(y + 4).min(n))
            .all(|yy| (x.saturating_sub(3)..(x + 4).min(n)).all(|xx| f(v[yy * n + xx])))
    };
    let mut errors = Vec::new();
    for i in 0..n * n {
        if shd[i] < 0.7
            && near(&seen, i, &|v| v == 0.0)
            && near(&tau, i, &|v| v == 0.0)
            && near(&shd, i, &|v| (v - shd[i]).abs() < 0.02)
        {
            let tau_sun = -mu * shd[i].ln() / (1.0 - ASYMMETRY * ASYMMETRY);
            errors.push(l1c07[i] * 0.001 / clear[i] - transmittance(mu, tau_sun));
        }
    }
    assert!(errors.len() > 200, "{} open shadow pixels", errors.len());
    let bias = errors.iter().sum::<f64>() / errors.len() as f64;
    eprintln!(
        "open shadow: {} pixels, L1C/TOA_clear − T(μs, τ) = {bias:.4} on average",
        errors.len()
    );
    assert!(bias.abs() < 0.02, "{bias}");
}

#[test]
fn out_of_range_cloud_parameters_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("S");
    let o = out.to_str().unwrap();
    for (args, needle) in [
        (
            &["--clouds", "scattered", "--cloud-base", "9"][..],
            "--cloud-base 9",
        ),
        (
            &["--clouds", "overcast", "--cloud-tau", "0.5:20"][..],
            "--cloud-tau 0.5:20",
        ),
        (
            &["--clouds", "mixed", "--cirrus-altitude", "3"][..],
            "--cirrus-altitude 3",
        ),
        (
            &["--clouds", "cirrus", "--cloud-cover", "1.5"][..],
            "--cloud-cover 1.5",
        ),
        (&["--cloud-cover", "0.5"][..], "--clouds"),
    ] {
        let mut all = vec!["scene", "--lines", "32", "--cols", "32", "-o", o];
        all.extend_from_slice(args);
        run(SIM, &all).code(2).one_error_line(needle);
        assert!(!out.exists(), "{args:?} wrote {o}");
    }
}

#[test]
fn cloudy_scenes_are_the_same_bytes_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let make = |name: &str, extra: &[&str]| {
        let dir = tmp.path().join(name);
        let mut args = vec![
            "scene",
            "--lines",
            "96",
            "--cols",
            "128",
            "--seed",
            "4",
            "--clouds",
            "mixed",
            "--cloud-base",
            "1.5",
            "-o",
        ];
        args.push(dir.to_str().unwrap());
        args.extend_from_slice(extra);
        run(SIM, &args).code(0);
        dir
    };
    let a = make("a", &["--threads", "1"]);
    let b = make("b", &["--threads", "2", "--ram", "16"]);
    assert!(files(&a).iter().any(|p| p.ends_with("truth/CLD_THIN.tif")));
    vip_testkit::assert_same_tree(&a, &b);
    // Both layers are there: some thin and some thick cloud.
    let thin = read_band(&a.join("truth/CLD_THIN.tif"), 1).0;
    assert!(thin.iter().any(|&t| t > 0.0) && thin.iter().all(|&t| t <= 1.0));
}
