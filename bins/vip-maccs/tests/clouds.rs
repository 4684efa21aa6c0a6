//! vip-maccs l2 cloud, shadow and snow masks and the site context, on `vip-sim series` runs
//! with known truth (the simulator draws its clouds in 3-D with their own radiative model and
//! shares no code with the masks; the L1 stereo comes from vip-l1):
//! - cloud mask against the truth of the date (CLD_SEEN: the clouds where the L1C shows
//!   them): overall accuracy over the unambiguous pixels (optical thickness 0 or ≥ 1; thinner
//!   cloud is reported, not scored), commission of the tests over clear, bright snow-free
//!   (surface blue reflectance above 0.12, no snow) and snowy ground (snow fraction ≥ 0.5;
//!   with the share the user's mask, extension included, covers), over partly snowy pixels
//!   (reported: without SWIR, snow fallen on part of a pixel brightens it as a thin cloud
//!   does), omission of clouds thicker than 1;
//! - shadows against the truth's direct-sun transmittance (SHD < 0.75, clear line of sight),
//!   counted where the clouds casting them lie in the image: where the sun ray from the ground
//!   reaches the altitude of the date's highest low or middle cloud layer inside the image
//!   (cirrus shadows fall kilometres from their clouds, outside a 1.6 km image); and the share
//!   of detections on lit ground (SHD ≥ 0.98);
//! - modes: nominal after init against backward over the same dates; bad contexts and date
//!   orders refused with the context untouched; a too-cloudy date not issued.

use std::path::{Path, PathBuf};

use vip::product::l2a::{self, bits};
use vip_testkit::{files, project_root, read_band, SimSeries};

const BIN: &str = env!("CARGO_BIN_EXE_vip-maccs");
/// Lines and columns of the series (5 m pixels).
const SIZE: usize = 320;

/// The annex `code` (band 1) of the L2A of `date` (yyyymmdd) under `out`, if issued.
fn annex(out: &Path, date: &str, code: &str) -> Option<Vec<f64>> {
    let hdr = files(out).into_iter().find(|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        n.contains("_VSC_L2VALD_") && n.ends_with(&format!("{date}.HDR"))
    })?;
    let l2a = l2a::L2a::open(&hdr).unwrap();
    Some(read_band(&l2a.annex_path(hdr.parent().unwrap(), code), 1).0)
}

/// Counts of one date against the truth.
#[derive(Default, Debug)]
struct Score {
    unambiguous: f64,
    agree: f64,
    clear: f64,
    clear_flagged: f64,
    bright: f64,
    bright_flagged: f64,
    snow: f64,
    snow_flagged: f64,
    snow_in_mask: f64,
    partial: f64,
    partial_flagged: f64,
    thick: f64,
    thick_missed: f64,
    thin: f64,
    thin_found: f64,
    shadow: f64,
    shadow_found: f64,
    detected_shadow: f64,
    shadow_on_lit: f64,
}

impl Score {
    fn add(&mut self, o: &Score) {
        let f = |a: &mut f64, b: f64| *a += b;
        f(&mut self.unambiguous, o.unambiguous);
        f(&mut self.agree, o.agree);
        f(&mut self.clear, o.clear);
        f(&mut self.clear_flagged, o.clear_flagged);
        f(&mut self.bright, o.bright);
        f(&mut self.bright_flagged, o.bright_flagged);
        f(&mut self.snow, o.snow);
        f(&mut self.snow_flagged, o.snow_flagged);
        f(&mut self.snow_in_mask, o.snow_in_mask);
        f(&mut self.partial, o.partial);
        f(&mut self.partial_flagged, o.partial_flagged);
        f(&mut self.thick, o.thick);
        f(&mut self.thick_missed, o.thick_missed);
        f(&mut self.thin, o.thin);
        f(&mut self.thin_found, o.thin_found);
        f(&mut self.shadow, o.shadow);
        f(&mut self.shadow_found, o.shadow_found);
        f(&mut self.detected_shadow, o.detected_shadow);
        f(&mut self.shadow_on_lit, o.shadow_on_lit);
    }

    fn pct(a: f64, b: f64) -> f64 {
        if b > 0.0 {
            100.0 * a / b
        } else {
            f64::NAN
        }
    }

    fn line(&self) -> String {
        format!(
            "OA {:.2} % | commission clear {:.2} %, bright {:.2} % (n {}), snow {:.2} % (n {}; {:.1} % in the mask with its extension), partial snow {:.1} % (n {}) | omission tau>1 {:.2} % (n {}) | thin found {:.1} % | shadows found {:.1} % (n {}), on lit ground {:.1} % of {}",
            Self::pct(self.agree, self.unambiguous),
            Self::pct(self.clear_flagged, self.clear),
            Self::pct(self.bright_flagged, self.bright),
            self.bright,
            Self::pct(self.snow_flagged, self.snow),
            self.snow,
            Self::pct(self.snow_in_mask, self.snow),
            Self::pct(self.partial_flagged, self.partial),
            self.partial,
            Self::pct(self.thick_missed, self.thick),
            self.thick,
            Self::pct(self.thin_found, self.thin),
            Self::pct(self.shadow_found, self.shadow),
            self.shadow,
            Self::pct(self.shadow_on_lit, self.detected_shadow),
            self.detected_shadow
        )
    }
}

/// Whether the cloud casting a shadow on pixel (row, column) of `date` lies in the image: the
/// sun ray from the pixel (the L2A's SOL annex, displacement towards the sun per metre of
/// altitude) reaches the altitude above the datum of the date's highest low or middle cloud
/// layer (the simulator's `truth/clouds.json`) inside the image. The ground's own height is
/// not taken off: the ray is followed a little too far, which only drops pixels near the edge.
fn shadow_source(scene: &Path, out: &Path, date: &str) -> impl Fn(usize, usize) -> bool {
    let clouds = scene.join("truth/clouds.json");
    let altitude = if clouds.exists() {
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&clouds).unwrap()).unwrap();
        let layers = j["layers"].as_array().unwrap();
        let altitudes = j["altitudes_m"].as_array().unwrap();
        layers
            .iter()
            .zip(altitudes)
            .filter(|(l, _)| l["kind"] != "cirrus")
            .map(|(_, a)| a.as_f64().unwrap())
            .fold(0.0, f64::max)
    } else {
        0.0
    };
    let hdr = files(out)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(&format!("{date}.HDR")))
        .unwrap();
    let sol = l2a::L2a::open(&hdr)
        .unwrap()
        .annex_path(hdr.parent().unwrap(), l2a::ANNEX_SOL);
    let mean = |band| {
        let v = read_band(&sol, band).0;
        v.iter().sum::<f64>() / v.len() as f64
    };
    // pixels of displacement: east is +column, north is −row (5 m pixels)
    let (dc, dr) = (altitude * mean(1) / 5.0, -altitude * mean(2) / 5.0);
    move |r, c| {
        let (r, c) = (r as f64 + dr, c as f64 + dc);
        r >= 0.0 && c >= 0.0 && r < SIZE as f64 && c < SIZE as f64
    }
}

/// Half side of the square around every cloud or shadow pixel of the truth outside which
/// clear land scores the aerosol and the surface reflectance on cloudy dates (300 m: about
/// two diameters of the simulator's cumulus cells).
const AWAY_PX: usize = 60;

/// Over the issued dates of `series` that have clouds: squared errors of the AOT and of the
/// SRE of B03, B07 and B11 summed over the clear land (no L2 mask bit, no water or snow in
/// the truth) at least [`AWAY_PX`] from any cloud or shadow of the truth, and their count.
fn retrieval_near_clouds(series: &SimSeries, out: &Path) -> (f64, [f64; 3], usize) {
    let (mut aot_se, mut sre_se, mut n) = (0.0, [0.0; 3], 0usize);
    for (scene, _) in &series.dates {
        let date = scene.file_name().unwrap().to_string_lossy().to_string();
        let truth = |name: &str| read_band(&scene.join("truth").join(name), 1).0;
        let Some(cld) = annex(out, &date, l2a::ANNEX_CLD) else {
            continue;
        };
        if !scene.join("truth/CLD_SEEN.tif").exists() {
            continue;
        }
        let (seen, shd, wat, snw) = (
            truth("CLD_SEEN.tif"),
            truth("SHD.tif"),
            truth("WAT.tif"),
            truth("SNW.tif"),
        );
        // a box dilation of the cloudy pixels: rows, then columns, by running counts
        let cloudy: Vec<u32> = (0..SIZE * SIZE)
            .map(|i| u32::from(seen[i] > 0.0 || shd[i] < 0.98))
            .collect();
        let spread = |v: &[u32], along_rows: bool| -> Vec<u32> {
            let at = |a: usize, b: usize| {
                if along_rows {
                    a * SIZE + b
                } else {
                    b * SIZE + a
                }
            };
            let mut o = vec![0u32; SIZE * SIZE];
            for a in 0..SIZE {
                let mut prefix = vec![0u32; SIZE + 1];
                for b in 0..SIZE {
                    prefix[b + 1] = prefix[b] + v[at(a, b)];
                }
                for b in 0..SIZE {
                    let (lo, hi) = (b.saturating_sub(AWAY_PX), (b + AWAY_PX + 1).min(SIZE));
                    o[at(a, b)] = prefix[hi] - prefix[lo];
                }
            }
            o
        };
        let near = spread(&spread(&cloudy, true), false);
        let hdr = files(out)
            .into_iter()
            .find(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.contains("_L2VALD_") && n.ends_with(&format!("{date}.HDR"))
            })
            .unwrap();
        let p = l2a::L2a::open(&hdr).unwrap();
        let d = hdr.parent().unwrap();
        let aot = read_band(&p.annex_path(d, l2a::ANNEX_ATB), 2).0;
        let aot_truth = truth("AOT.tif");
        let sre: Vec<(Vec<f64>, Vec<f64>)> = [3, 7, 11]
            .iter()
            .map(|&b| {
                (
                    read_band(&p.image_path(d, l2a::IMAGE_SRE), b).0,
                    truth(&format!("SRE_B{b:02}.tif")),
                )
            })
            .collect();
        for i in 0..SIZE * SIZE {
            if near[i] > 0 || cld[i] != 0.0 || wat[i] >= 0.5 || snw[i] >= 0.5 {
                continue;
            }
            n += 1;
            aot_se += (aot[i] * p.aot_quantification - aot_truth[i]).powi(2);
            for (k, (l2, t)) in sre.iter().enumerate() {
                sre_se[k] += (l2[i] * p.site.quantification - t[i]).powi(2);
            }
        }
    }
    (aot_se, sre_se, n)
}

/// The scores of the L2A of every issued date of `series` under `out`.
fn score(series: &SimSeries, out: &Path) -> Vec<(String, Score)> {
    let mut all = Vec::new();
    for (scene, _) in &series.dates {
        let date = scene.file_name().unwrap().to_string_lossy().to_string();
        let Some(cld) = annex(out, &date, l2a::ANNEX_CLD) else {
            continue;
        };
        let truth = |name: &str, default: f64| {
            let p = scene.join("truth").join(name);
            if p.exists() {
                read_band(&p, 1).0
            } else {
                vec![default; SIZE * SIZE]
            }
        };
        let (seen, shd, snw, blue) = (
            truth("CLD_SEEN.tif", 0.0),
            truth("SHD.tif", 1.0),
            truth("SNW.tif", 0.0),
            truth("SRE_B03.tif", 0.0),
        );
        let mut s = Score::default();
        let source = shadow_source(scene, out, &date);
        for i in 0..SIZE * SIZE {
            let (r, c) = (i / SIZE, i % SIZE);
            let tests = cld[i] as u8 & (bits::CLD_REFL | bits::CLD_REFL_VAR | bits::CLD_ALT) != 0;
            let t = seen[i];
            if t == 0.0 || t >= 1.0 {
                s.unambiguous += 1.0;
                s.agree += f64::from(u8::from(tests == (t >= 1.0)));
            }
            if t == 0.0 {
                s.clear += 1.0;
                s.clear_flagged += f64::from(u8::from(tests));
                if blue[i] > 0.12 && snw[i] == 0.0 {
                    s.bright += 1.0;
                    s.bright_flagged += f64::from(u8::from(tests));
                }
                if snw[i] >= 0.5 {
                    s.snow += 1.0;
                    s.snow_flagged += f64::from(u8::from(tests));
                    s.snow_in_mask += f64::from(u8::from(cld[i] as u8 & bits::CLD_ALL_CLOUDS != 0));
                } else if snw[i] > 0.0 {
                    s.partial += 1.0;
                    s.partial_flagged += f64::from(u8::from(tests));
                }
                let found = cld[i] as u8 & bits::CLD_SHADOWS != 0;
                if shd[i] < 0.75 && source(r, c) {
                    s.shadow += 1.0;
                    s.shadow_found += f64::from(u8::from(found));
                }
                if found {
                    s.detected_shadow += 1.0;
                    s.shadow_on_lit += f64::from(u8::from(shd[i] >= 0.98));
                }
            } else if t >= 1.0 {
                s.thick += 1.0;
                s.thick_missed += f64::from(u8::from(!tests));
            } else if t >= 0.2 {
                s.thin += 1.0;
                s.thin_found += f64::from(u8::from(tests));
            }
        }
        all.push((date, s));
    }
    all
}

fn spring_site() -> vip::sim::SceneSpec {
    let mut spec = vip::sim::SceneSpec::new(
        "FR-LQ1",
        "2024-05-01",
        "10:30:00",
        SIZE as u32,
        SIZE as u32,
        7,
        300.0,
    )
    .unwrap();
    spec.atmosphere = Some(vip::sim::atmosphere::AtmosphereSpec {
        model: vip::atmosphere::luts::DEFAULT_MODEL.into(),
        luts: project_root().join("testdata/luts"),
        aot_mean: 0.15,
        wv_mean: 1.5,
    });
    spec
}

/// A site in the Alps in March: 1500 m of relief, snow down the slopes, two overcast dates.
fn alpine_site() -> vip::sim::SceneSpec {
    let mut spec = vip::sim::SceneSpec::new(
        "ALPS",
        "2024-03-01",
        "10:02:24",
        SIZE as u32,
        SIZE as u32,
        3,
        1500.0,
    )
    .unwrap()
    .placed(6.9, 45.9)
    .unwrap();
    spec.atmosphere = Some(vip::sim::atmosphere::AtmosphereSpec {
        model: vip::atmosphere::luts::DEFAULT_MODEL.into(),
        luts: project_root().join("testdata/luts"),
        aot_mean: 0.1,
        wv_mean: 1.0,
    });
    spec
}

/// The series of `base` over `dates` through vip-maccs l2 in backward mode: the series,
/// the output folder and the scores of all issued dates together.
fn backward(base: vip::sim::SceneSpec, dates: &str) -> (SimSeries, PathBuf, Score) {
    let series = SimSeries::new(base, dates);
    let l1cs: Vec<&PathBuf> = series.dates.iter().map(|d| &d.1).collect();
    let (ctx, out) = (series.scratch("CTX"), series.scratch("L2"));
    let r = series.l2(BIN, &l1cs, &ctx, &out, &["--mode", "backward"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let mut total = Score::default();
    for (date, s) in score(&series, &out) {
        eprintln!("{date}: {}", s.line());
        total.add(&s);
    }
    eprintln!("all dates: {}", total.line());
    (series, out, total)
}

#[test]
fn masks_on_a_march_alpine_series_keep_the_snow_and_refuse_the_overcast() {
    let (_series, out, total) = backward(
        alpine_site(),
        "2024-03-01,2024-03-03,2024-03-05,2024-03-07,2024-03-09,2024-03-11,2024-03-13,2024-03-15",
    );
    let pct = Score::pct;
    assert!(
        pct(total.agree, total.unambiguous) >= 95.0,
        "{}",
        total.line()
    );
    assert!(total.snow > 100_000.0, "{}", total.line());
    assert!(
        pct(total.bright_flagged, total.bright) <= 3.0,
        "{}",
        total.line()
    );
    // no date of this draw has a thick cloud: shadows found are false ones
    assert!(
        pct(total.shadow_on_lit, total.detected_shadow) <= 5.0,
        "{}",
        total.line()
    );
    assert!(
        pct(total.snow_flagged, total.snow) <= 3.0,
        "{}",
        total.line()
    );
    // the stratus decks over the snow (optical thickness 8-22) are too cloudy to issue
    let names: Vec<String> = files(&out)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for date in ["20240303", "20240315"] {
        assert!(
            names
                .iter()
                .any(|n| n.contains("_L2NOTV_") && n.ends_with(&format!("{date}.HDR"))),
            "{date}: {names:?}"
        );
        assert!(!names
            .iter()
            .any(|n| n.contains("_L2VALD_") && n.contains(date)));
    }
}

#[test]
fn masks_on_a_spring_series_against_the_truth_and_modes_agree() {
    let (series, out, total) = backward(
        spring_site(),
        "2024-05-01,2024-05-03,2024-05-05,2024-05-07,2024-05-09,2024-05-11,2024-05-13,2024-05-15",
    );
    let l1cs: Vec<&PathBuf> = series.dates.iter().map(|d| &d.1).collect();
    let pct = Score::pct;
    // the aerosol and the surface away from the clouds of the cloudy dates (the truth is the
    // simulator's 6S-tabulated atmosphere; the environment the adjacency correction uses
    // leaves the clouds out)
    let (aot_se, sre_se, n) = retrieval_near_clouds(&series, &out);
    let rmse = |se: f64| (se / n as f64).sqrt();
    eprintln!(
        "cloudy dates, clear land {} m from any cloud or shadow ({n} pixels): AOT RMSE {:.4}, SRE RMSE B03 {:.4}, B07 {:.4}, B11 {:.4}",
        AWAY_PX * 5,
        rmse(aot_se),
        rmse(sre_se[0]),
        rmse(sre_se[1]),
        rmse(sre_se[2])
    );
    assert!(n > 10_000, "{n}");
    assert!(rmse(aot_se) < 0.05, "{}", rmse(aot_se));
    assert!(sre_se.iter().all(|&se| rmse(se) < 0.01), "{sre_se:?}");
    assert!(
        pct(total.agree, total.unambiguous) >= 95.0,
        "{}",
        total.line()
    );
    assert!(
        pct(total.clear_flagged, total.clear) <= 3.0,
        "{}",
        total.line()
    );
    assert!(
        pct(total.thick_missed, total.thick) < 2.0,
        "{}",
        total.line()
    );
    assert!(
        pct(total.bright_flagged, total.bright) <= 3.0,
        "{}",
        total.line()
    );
    assert!(
        pct(total.shadow_found, total.shadow) >= 85.0,
        "{}",
        total.line()
    );
    assert!(
        pct(total.shadow_on_lit, total.detected_shadow) <= 5.0,
        "{}",
        total.line()
    );

    // nominal after init over the same dates
    let (ctx2, out2) = (series.scratch("CTX2"), series.scratch("L2n"));
    let r = series.l2(BIN, &l1cs[..1], &ctx2, &out2, &["--mode", "init"]);
    r.code(0);
    let r = series.l2(BIN, &l1cs[1..], &ctx2, &out2, &["--mode", "nominal"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let (mut same, mut n) = (0usize, 0usize);
    for (scene, _) in &series.dates[1..] {
        let date = scene.file_name().unwrap().to_string_lossy().to_string();
        let (Some(a), Some(b)) = (
            annex(&out, &date, l2a::ANNEX_CLD),
            annex(&out2, &date, l2a::ANNEX_CLD),
        ) else {
            continue;
        };
        let cloud = |v: f64| v as u8 & bits::CLD_ALL_CLOUDS != 0;
        same += a
            .iter()
            .zip(&b)
            .filter(|(x, y)| cloud(**x) == cloud(**y))
            .count();
        n += a.len();
    }
    let agreement = 100.0 * same as f64 / n as f64;
    eprintln!(
        "nominal after init vs backward, dates 2..: cloud bits agree on {agreement:.2} % of pixels"
    );
    assert!(agreement >= 97.0, "{agreement}");
}

#[test]
fn bad_contexts_and_date_orders_are_refused_and_leave_the_context_whole() {
    let series = SimSeries::new(spring_site(), "2024-05-01,2024-05-03");
    let (a, b) = (&series.dates[0].1, &series.dates[1].1);
    let (ctx, out) = (series.scratch("CTX"), series.scratch("L2"));
    // nominal without a context
    series
        .l2(BIN, &[a], &ctx, &out, &["--mode", "nominal"])
        .code(3)
        .stderr_has("nominal mode needs");
    assert!(!out.exists());
    // dates out of order
    series
        .l2(BIN, &[b, a], &ctx, &out, &[])
        .code(3)
        .stderr_has("oldest first");
    series
        .l2(BIN, &[b], &ctx, &out, &["--mode", "init"])
        .code(0);
    let before: Vec<(PathBuf, Vec<u8>)> = files(&ctx)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    // the context's last date is not before the L1C
    let later = series.l2(
        BIN,
        &[a],
        &ctx,
        &series.scratch("L2b"),
        &["--mode", "nominal"],
    );
    later.code(3);
    assert!(
        later.stderr.contains(&ctx.display().to_string()),
        "{}",
        later.stderr
    );
    let after: Vec<(PathBuf, Vec<u8>)> = files(&ctx)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    assert_eq!(before, after, "the context changed");
    assert!(!series.scratch("L2b").exists());
}
