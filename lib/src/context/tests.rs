use std::path::Path;

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

const COLS: usize = 64;
const LINES: usize = 48;

fn site() -> Site {
    Site {
        name: "Test site".into(),
        nick: "TESTSITE".into(),
        epsg: 32631,
        ulx: 600_000.0,
        uly: 4_800_000.0,
        pixel_m: 5.0,
        lines: LINES,
        cols: COLS,
        acquisition: "2024-01-05T10:30:00".into(),
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// An observation owned by the test.
#[derive(Debug, Clone)]
struct Obs {
    rcr: Vec<i16>,
    clear: Vec<bool>,
    cld: Vec<u8>,
    cla: Vec<u16>,
    water: Vec<bool>,
    corr: Vec<i16>,
}

impl Obs {
    fn view(&self) -> Observation<'_> {
        Observation {
            rcr: &self.rcr,
            clear: &self.clear,
            cld: &self.cld,
            cla: &self.cla,
            water: &self.water,
            corr: &self.corr,
        }
    }

    /// Pseudo-random pixels: about 60 % clear, a fifth water.
    fn random(seed: u64, n: usize) -> Obs {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rcr = (0..BANDS * n).map(|_| rng.gen_range(-50..900)).collect();
        let clear: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.6)).collect();
        let cld = clear
            .iter()
            .map(|&c| if c { 0 } else { rng.gen::<u8>() | 1 })
            .collect();
        let cla = clear
            .iter()
            .map(|&c| if c { 0 } else { rng.gen_range(0..6000) })
            .collect();
        let water = (0..n).map(|_| rng.gen_bool(0.2)).collect();
        let corr = (0..n).map(|_| rng.gen_range(0..700)).collect();
        Obs {
            rcr,
            clear,
            cld,
            cla,
            water,
            corr,
        }
    }

    /// The pixels of rows `rows` of an observation of the whole grid.
    fn rows(&self, rows: Range<usize>) -> Obs {
        let n = COLS * LINES;
        let px = rows.start * COLS..rows.end * COLS;
        let rcr = (0..BANDS)
            .flat_map(|b| self.rcr[b * n + px.start..b * n + px.end].to_vec())
            .collect();
        Obs {
            rcr,
            clear: self.clear[px.clone()].to_vec(),
            cld: self.cld[px.clone()].to_vec(),
            cla: self.cla[px.clone()].to_vec(),
            water: self.water[px.clone()].to_vec(),
            corr: self.corr[px].to_vec(),
        }
    }
}

/// Rows `rows` of a strip of the whole grid.
fn strip_rows(s: &Strip, rows: Range<usize>) -> Strip {
    let n = s.pixels();
    let px = rows.start * COLS..rows.end * COLS;
    let planes = |v: &[i16], count: usize| -> Vec<i16> {
        (0..count)
            .flat_map(|k| v[k * n + px.start..k * n + px.end].to_vec())
            .collect()
    };
    Strip {
        rcr: planes(&s.rcr, BANDS),
        pxd: s.pxd[px.clone()].to_vec(),
        sto: planes(&s.sto, s.stack_planes()),
        cld: s.cld[px.clone()].to_vec(),
        cla: s.cla[px.clone()].to_vec(),
        wam: s.wam[px].to_vec(),
    }
}

/// Updates the context in `dir` by `date` with `obs` (of the whole grid), strip by strip as
/// the L2 does (strips of 10 rows: not aligned on the tiles, the last one shorter).
fn update_dir(dir: &Path, date: NaiveDate, obs: &Obs, rule: &Rule) -> Result<PathBuf> {
    let old = Context::open(dir)?;
    let mode = if old.is_some() {
        Mode::Nominal
    } else {
        Mode::Init
    };
    let update = Update::new(old.as_ref().map(Context::header), &site(), date, mode, rule)?;
    let mut w = ContextWriter::create(dir, update.header(), &[])?;
    for win in raster::Strips::new(LINES, 10) {
        let rows = win.row..win.end();
        let before = old
            .as_ref()
            .map(|c| c.read_strip(rows.clone()))
            .transpose()?;
        let after = update.apply(before.as_ref(), &obs.rows(rows.clone()).view())?;
        w.write_strip(rows, &after)?;
    }
    w.commit()
}

const RULE: Rule = Rule {
    max_age_days: 10,
    n_stack: 3,
};

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn round_trip_strip_by_strip() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("CTX");
    let date = day(2024, 1, 5);
    let obs = Obs::random(1, COLS * LINES);
    let version = update_dir(&dir, date, &obs, &RULE).unwrap();
    assert_eq!(version, dir.join("20240105-1"));
    assert_eq!(entries(&dir), ["20240105-1", CURRENT, LOCK]);
    assert_eq!(
        entries(&version),
        ["CLA.tif", "CLD.tif", "PXD.tif", "RCR.tif", "STO.tif", "WAM.tif", HEADER]
    );
    assert_eq!(
        fs::read_to_string(dir.join(CURRENT)).unwrap(),
        "20240105-1\n"
    );

    let c = Context::open(&dir).unwrap().expect("a context");
    let update = Update::new(None, &site(), date, Mode::Init, &RULE).unwrap();
    assert_eq!(c.header(), update.header());
    assert_eq!(c.last_date(), date);
    assert_eq!(c.stack_dates(), [date]);
    assert_eq!(c.age_days(day(2024, 1, 15)), 10);
    assert_eq!(c.version_dir(), version);
    let whole = update.apply(None, &obs.view()).unwrap();
    assert_eq!(c.read_strip(0..LINES).unwrap(), whole);
    assert_eq!(c.read_strip(13..29).unwrap(), strip_rows(&whole, 13..29));
    assert_eq!(c.read_strip(47..48).unwrap(), strip_rows(&whole, 47..48));
    assert_eq!(c.read_strip(5..5).unwrap().pixels(), 0);
    // Some pixels remember something and some do not: the test sees both.
    assert!(whole.pxd.contains(&PXD_NODATA) && whole.pxd.contains(&8770));

    // GDAL reads the rasters as the header and docs/context.md say.
    let ds = raster::open(&version.join("RCR.tif")).unwrap();
    let spec = raster::spec_like(&ds).unwrap();
    assert_eq!((spec.width, spec.height, spec.bands), (COLS, LINES, BANDS));
    assert_eq!(spec.nodata, Some(-10000.0));
    assert_eq!(raster::epsg(&ds), Some(32631));
    assert_eq!(spec.geo_transform, site().geo_transform());
    let ds = raster::open(&version.join("PXD.tif")).unwrap();
    assert_eq!(raster::spec_like(&ds).unwrap().nodata, Some(-32768.0));

    // The next date reads the first one: the composite keeps its old pixels where cloudy.
    let obs2 = Obs::random(2, COLS * LINES);
    let date2 = day(2024, 1, 7);
    c.check(&site(), date2).unwrap();
    let v2 = update_dir(&dir, date2, &obs2, &RULE).unwrap();
    assert_eq!(v2, dir.join("20240107-2"));
    assert_eq!(
        entries(&dir),
        ["20240107-2", CURRENT, LOCK],
        "old version removed"
    );
    let c2 = Context::open(&dir).unwrap().unwrap();
    assert_eq!(c2.stack_dates(), [date2, date]);
    assert_eq!(c2.header().mode, Mode::Nominal);
    let u2 = Update::new(Some(c.header()), &site(), date2, Mode::Nominal, &RULE).unwrap();
    let whole2 = u2.apply(Some(&whole), &obs2.view()).unwrap();
    assert_eq!(c2.read_strip(0..LINES).unwrap(), whole2);
}

#[test]
fn same_inputs_same_bytes() {
    let d = tempfile::tempdir().unwrap();
    let obs = [Obs::random(3, COLS * LINES), Obs::random(4, COLS * LINES)];
    for name in ["A", "B"] {
        let dir = d.path().join(name);
        update_dir(&dir, day(2024, 3, 1), &obs[0], &RULE).unwrap();
        update_dir(&dir, day(2024, 3, 3), &obs[1], &RULE).unwrap();
    }
    let a = d.path().join("A/20240303-2");
    let b = d.path().join("B/20240303-2");
    for f in entries(&a) {
        assert_eq!(
            fs::read(a.join(&f)).unwrap(),
            fs::read(b.join(&f)).unwrap(),
            "{f}"
        );
    }
    assert_eq!(
        fs::read(d.path().join("A").join(CURRENT)).unwrap(),
        fs::read(d.path().join("B").join(CURRENT)).unwrap()
    );
}

/// Four pixels, all bands of a pixel equal to `v[i]`.
fn obs4(v: [i16; 4], clear: [bool; 4], water: [bool; 4]) -> Obs {
    Obs {
        rcr: (0..BANDS).flat_map(|_| v).collect(),
        clear: clear.to_vec(),
        cld: clear.iter().map(|&c| if c { 0 } else { 0b11 }).collect(),
        cla: clear.iter().map(|&c| if c { 0 } else { 2500 }).collect(),
        water: water.to_vec(),
        corr: v.iter().map(|&x| x + 1).collect(),
    }
}

#[test]
fn update_rule_clear_replaces_cloudy_keeps_old_forgets() {
    let s = site();
    let rule = Rule {
        max_age_days: 10,
        n_stack: 5,
    };
    let (d1, d2, d3) = (day(2024, 1, 1), day(2024, 1, 5), day(2024, 1, 14));
    let code = |d: NaiveDate| (d - DEFAULT_REFERENCE).num_days() as i16;
    let nd = REFLECTANCE_NODATA;

    // Init: clear pixels enter the composite; the third has a no-data band so is not clear.
    let u1 = Update::new(None, &s, d1, Mode::Init, &rule).unwrap();
    let mut o = obs4([100, 200, 300, 400], [true, false, true, true], [true; 4]);
    o.rcr[5 * 4 + 2] = nd;
    let s1 = u1.apply(None, &o.view()).unwrap();
    assert_eq!(s1.rcr_band(0), [100, nd, nd, 400]);
    assert_eq!(s1.rcr_band(11), [100, nd, nd, 400]);
    assert_eq!(s1.pxd, [code(d1), PXD_NODATA, PXD_NODATA, code(d1)]);
    assert_eq!(s1.sto, [101, nd, nd, 401]);
    // CLD and CLA are the date's, whatever the composite did.
    assert_eq!(s1.cld, [0, 3, 0, 0]);
    assert_eq!(s1.cla, [0, 2500, 0, 0]);
    assert_eq!(s1.wam, [1, 0, 0, 1]);

    // Date 2: pixel 0 cloudy keeps its composite and water history; pixel 3 clear replaces.
    let u2 = Update::new(Some(u1.header()), &s, d2, Mode::Nominal, &rule).unwrap();
    let o = obs4(
        [110, 210, 310, 410],
        [false, true, false, true],
        [true, true, true, false],
    );
    let s2 = u2.apply(Some(&s1), &o.view()).unwrap();
    assert_eq!(s2.rcr_band(3), [100, 210, nd, 410]);
    assert_eq!(s2.pxd, [code(d1), code(d2), PXD_NODATA, code(d2)]);
    assert_eq!(s2.wam, [1, 1, 0, 0b10]);
    assert_eq!(u2.header().stack_dates, [d2, d1]);
    assert_eq!(s2.sto, [nd, 211, nd, 411, 101, nd, nd, 401]);
    assert_eq!(s2.cld, [3, 0, 3, 0]);

    // Date 3, 13 days after date 1: pixel 0 (from date 1) is forgotten, pixel 1 (9 days) kept;
    // the stack drops date 1.
    let u3 = Update::new(Some(u2.header()), &s, d3, Mode::Nominal, &rule).unwrap();
    let o = obs4([120, 220, 320, 420], [false; 4], [false; 4]);
    let s3 = u3.apply(Some(&s2), &o.view()).unwrap();
    assert_eq!(s3.rcr_band(7), [nd, 210, nd, 410]);
    assert_eq!(s3.pxd, [PXD_NODATA, code(d2), PXD_NODATA, code(d2)]);
    assert_eq!(s3.wam, [0, 1, 0, 0b10]);
    assert_eq!(u3.header().stack_dates, [d3, d2]);
    assert_eq!(s3.sto, [nd, nd, nd, nd, nd, 211, nd, 411]);
    assert_eq!(u3.header().last_date, d3);
    assert_eq!(u3.header().reference_date, DEFAULT_REFERENCE);

    // Exactly max_age days old is kept.
    let d4 = d2 + chrono::Duration::days(10);
    let u4 = Update::new(Some(u2.header()), &s, d4, Mode::Nominal, &rule).unwrap();
    let s4 = u4.apply(Some(&s2), &o.view()).unwrap();
    assert_eq!(s4.pxd[1], code(d2));
    assert_eq!(u4.header().stack_dates, [d4, d2]);
}

#[test]
fn update_rule_stack_order_and_truncation() {
    let s = site();
    let rule = Rule {
        max_age_days: 100,
        n_stack: 3,
    };
    let mut header: Option<Header> = None;
    let mut strip: Option<Strip> = None;
    let dates: Vec<NaiveDate> = (0..5).map(|k| day(2024, 2, 1 + 2 * k)).collect();
    for (k, &d) in dates.iter().enumerate() {
        let u = Update::new(header.as_ref(), &s, d, Mode::Nominal, &rule).unwrap();
        let v = 10 * k as i16;
        let o = obs4([v, v, v, v], [true, true, false, true], [false; 4]);
        let next = u.apply(strip.as_ref(), &o.view()).unwrap();
        header = Some(u.header().clone());
        strip = Some(next);
    }
    let (h, st) = (header.unwrap(), strip.unwrap());
    assert_eq!(h.stack_dates, [dates[4], dates[3], dates[2]]);
    assert_eq!(st.stack_planes(), 3);
    assert_eq!(st.sto_plane(0), [41, 41, REFLECTANCE_NODATA, 41]);
    assert_eq!(st.sto_plane(1), [31, 31, REFLECTANCE_NODATA, 31]);
    assert_eq!(st.sto_plane(2), [21, 21, REFLECTANCE_NODATA, 21]);

    // A date processed again replaces its own plane instead of stacking twice.
    let u = Update::new(Some(&h), &s, dates[3], Mode::Backward, &rule).unwrap();
    assert_eq!(u.header().stack_dates, [dates[3], dates[4], dates[2]]);
    let o = obs4([7; 4], [true; 4], [false; 4]);
    let again = u.apply(Some(&st), &o.view()).unwrap();
    assert_eq!(again.sto_plane(0), [8; 4]);
    assert_eq!(again.sto_plane(1), st.sto_plane(0));
    assert_eq!(again.sto_plane(2), st.sto_plane(2));

    // One plane only.
    let one = Rule { n_stack: 1, ..rule };
    let u = Update::new(Some(&h), &s, day(2024, 3, 1), Mode::Nominal, &one).unwrap();
    assert_eq!(u.header().stack_dates, [day(2024, 3, 1)]);
    assert_eq!(u.apply(Some(&st), &o.view()).unwrap().stack_planes(), 1);
    assert!(Update::new(
        None,
        &s,
        day(2024, 3, 1),
        Mode::Init,
        &Rule { n_stack: 0, ..rule }
    )
    .is_err());
}

fn one_line_bad_input(e: &VipError, names: &str) -> String {
    let msg = e.to_string();
    assert_eq!(e.exit_code(), 3, "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.contains(names), "{msg} should name {names}");
    msg
}

#[test]
fn check_refuses_another_site_grid_or_a_date_not_after() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("CTX");
    let date = day(2024, 1, 5);
    update_dir(&dir, date, &Obs::random(5, COLS * LINES), &RULE).unwrap();
    let c = Context::open(&dir).unwrap().unwrap();
    let dir_s = dir.display().to_string();
    c.check(&site(), day(2024, 1, 6)).unwrap();

    let other = Site {
        nick: "OTHERSIT".into(),
        ..site()
    };
    let msg = one_line_bad_input(&c.check(&other, day(2024, 1, 6)).unwrap_err(), &dir_s);
    assert!(msg.contains("TESTSITE") && msg.contains("OTHERSIT") && msg.contains("--mode"));

    for grid in [
        Site {
            ulx: 600_005.0,
            ..site()
        },
        Site {
            lines: LINES + 1,
            ..site()
        },
        Site {
            epsg: 32632,
            ..site()
        },
        Site {
            pixel_m: 10.0,
            ..site()
        },
    ] {
        let msg = one_line_bad_input(&c.check(&grid, day(2024, 1, 6)).unwrap_err(), &dir_s);
        assert!(msg.contains("grid"), "{msg}");
    }
    // Within a thousandth of a pixel is the same grid.
    c.check(
        &Site {
            uly: 4_800_000.001,
            ..site()
        },
        day(2024, 1, 6),
    )
    .unwrap();

    for not_after in [date, day(2024, 1, 4)] {
        let msg = one_line_bad_input(&c.check(&site(), not_after).unwrap_err(), &dir_s);
        assert!(msg.contains("2024-01-05"), "{msg}");
    }
}

#[test]
fn no_context_yet() {
    let d = tempfile::tempdir().unwrap();
    assert!(Context::open(&d.path().join("missing")).unwrap().is_none());
    assert!(Context::open(d.path()).unwrap().is_none());
    // Leftovers of a first update killed before it committed: still no context.
    fs::create_dir(d.path().join(".20240105-1.tmp-999")).unwrap();
    fs::create_dir(d.path().join("20240105-1")).unwrap();
    fs::write(d.path().join(LOCK), b"").unwrap();
    assert!(Context::open(d.path()).unwrap().is_none());
    // A folder of something else is not taken for a new context.
    fs::write(d.path().join("SRE.tif"), b"x").unwrap();
    let e = Context::open(d.path()).unwrap_err();
    one_line_bad_input(&e, "SRE.tif");
    let file = d.path().join("SRE.tif");
    one_line_bad_input(&Context::open(&file).unwrap_err(), "SRE.tif");
}

#[test]
fn corrupt_context_is_bad_input_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("BASE");
    update_dir(&base, day(2024, 1, 5), &Obs::random(6, COLS * LINES), &RULE).unwrap();
    update_dir(&base, day(2024, 1, 7), &Obs::random(7, COLS * LINES), &RULE).unwrap();
    let copy = |name: &str| -> PathBuf {
        let dir = d.path().join(name);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join(CURRENT), fs::read(base.join(CURRENT)).unwrap()).unwrap();
        let v = dir.join("20240107-2");
        fs::create_dir(&v).unwrap();
        for f in entries(&base.join("20240107-2")) {
            fs::copy(base.join("20240107-2").join(&f), v.join(&f)).unwrap();
        }
        v
    };

    let v = copy("missing_raster");
    fs::remove_file(v.join("STO.tif")).unwrap();
    one_line_bad_input(&Context::open(v.parent().unwrap()).unwrap_err(), "STO.tif");

    let v = copy("wrong_planes");
    fs::copy(v.join("PXD.tif"), v.join("STO.tif")).unwrap();
    let msg = one_line_bad_input(&Context::open(v.parent().unwrap()).unwrap_err(), "STO.tif");
    assert!(msg.contains("2 bands"), "{msg}");

    let v = copy("wrong_type");
    fs::copy(v.join("CLD.tif"), v.join("WAM.tif")).unwrap();
    fs::copy(v.join("CLA.tif"), v.join("CLD.tif")).unwrap();
    one_line_bad_input(&Context::open(v.parent().unwrap()).unwrap_err(), "CLD.tif");

    for (name, text) in [
        ("garbage", "{ not json"),
        (
            "unknown_field",
            "{\"format\": \"VIP-L2-CONTEXT\", \"extra\": 1}",
        ),
        ("empty", ""),
    ] {
        let v = copy(name);
        fs::write(v.join(HEADER), text).unwrap();
        let msg = one_line_bad_input(&Context::open(v.parent().unwrap()).unwrap_err(), HEADER);
        assert!(msg.contains("bad context header"), "{msg}");
    }
    let v = copy("bad_date");
    let text = fs::read_to_string(v.join(HEADER)).unwrap();
    fs::write(v.join(HEADER), text.replace("2024-01-05", "2024-13-05")).unwrap();
    one_line_bad_input(&Context::open(v.parent().unwrap()).unwrap_err(), HEADER);
    let v = copy("stack_not_last");
    fs::write(
        v.join(HEADER),
        text.replace(
            "\"last_date\": \"2024-01-07\"",
            "\"last_date\": \"2024-01-06\"",
        ),
    )
    .unwrap();
    one_line_bad_input(&Context::open(v.parent().unwrap()).unwrap_err(), HEADER);
    let v = copy("no_header");
    fs::remove_file(v.join(HEADER)).unwrap();
    one_line_bad_input(&Context::open(v.parent().unwrap()).unwrap_err(), HEADER);

    let v = copy("bad_current");
    fs::write(v.parent().unwrap().join(CURRENT), "../../etc\n").unwrap();
    one_line_bad_input(&Context::open(v.parent().unwrap()).unwrap_err(), CURRENT);
    let v = copy("current_names_missing");
    fs::write(v.parent().unwrap().join(CURRENT), "20240109-3\n").unwrap();
    let msg = one_line_bad_input(&Context::open(v.parent().unwrap()).unwrap_err(), CURRENT);
    assert!(msg.contains("20240109-3"), "{msg}");

    // A truncated raster opens (its header is whole) but its pixels cannot be read.
    let v = copy("truncated");
    let f = fs::OpenOptions::new()
        .write(true)
        .open(v.join("RCR.tif"))
        .unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len / 2).unwrap();
    let e = match Context::open(v.parent().unwrap()) {
        Err(e) => e,
        Ok(c) => c.unwrap().read_strip(0..LINES).unwrap_err(),
    };
    one_line_bad_input(&e, "RCR.tif");

    // The untouched copy opens.
    let v = copy("whole");
    let c = Context::open(v.parent().unwrap()).unwrap().unwrap();
    assert_eq!(c.stack_dates(), [day(2024, 1, 7), day(2024, 1, 5)]);
}

#[test]
fn writer_dropped_without_commit_leaves_the_context_untouched() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("CTX");
    update_dir(&dir, day(2024, 1, 5), &Obs::random(8, COLS * LINES), &RULE).unwrap();
    let before = entries(&dir);
    let whole = Context::open(&dir)
        .unwrap()
        .unwrap()
        .read_strip(0..LINES)
        .unwrap();

    let old = Context::open(&dir).unwrap().unwrap();
    let u = Update::new(
        Some(old.header()),
        &site(),
        day(2024, 1, 9),
        Mode::Nominal,
        &RULE,
    )
    .unwrap();
    let mut w = ContextWriter::create(&dir, u.header(), &[]).unwrap();
    let o = Obs::random(9, COLS * LINES).rows(0..10);
    let s = u
        .apply(Some(&old.read_strip(0..10).unwrap()), &o.view())
        .unwrap();
    w.write_strip(0..10, &s).unwrap();
    // While one update runs, another is refused (exit 5) and changes nothing.
    let e = ContextWriter::create(&dir, u.header(), &[]).unwrap_err();
    assert_eq!(e.exit_code(), 5, "{e}");
    assert!(e.to_string().contains("another run"), "{e}");
    // Committing with rows missing is a bug, and leaves the context as it was.
    assert_eq!(w.commit().unwrap_err().exit_code(), 70);
    assert_eq!(entries(&dir), before);

    let mut w = ContextWriter::create(&dir, u.header(), &[]).unwrap();
    w.write_strip(0..10, &s).unwrap();
    drop(w);
    assert_eq!(entries(&dir), before);
    let c = Context::open(&dir).unwrap().unwrap();
    assert_eq!(c.last_date(), day(2024, 1, 5));
    assert_eq!(c.read_strip(0..LINES).unwrap(), whole);
}

#[test]
fn writer_removes_leftovers_of_killed_updates() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("CTX");
    update_dir(&dir, day(2024, 1, 5), &Obs::random(10, COLS * LINES), &RULE).unwrap();
    // What kills at various moments leave: a temporary version, a renamed version never
    // named by CURRENT, an older version not yet removed, a temporary pointer.
    fs::create_dir(dir.join(".20240107-2.tmp-4242")).unwrap();
    fs::write(dir.join(".20240107-2.tmp-4242/RCR.tif"), b"partial").unwrap();
    fs::create_dir(dir.join("20240107-2")).unwrap();
    fs::create_dir(dir.join("20240101-0")).unwrap();
    fs::write(dir.join(".CURRENT.tmp-4242"), b"20240107-2").unwrap();
    assert_eq!(
        Context::open(&dir).unwrap().unwrap().last_date(),
        day(2024, 1, 5)
    );
    update_dir(&dir, day(2024, 1, 7), &Obs::random(11, COLS * LINES), &RULE).unwrap();
    assert_eq!(entries(&dir), ["20240107-2", CURRENT, LOCK]);
    assert_eq!(
        Context::open(&dir).unwrap().unwrap().last_date(),
        day(2024, 1, 7)
    );
}

// --- kill -9 during updates -------------------------------------------------------------------

/// Set in the environment of the child process the kill test starts: the context folder.
const KILL_CHILD: &str = "VIP_CONTEXT_TEST_KILL_CHILD";
const KILL_TEST: &str = "context::tests::kill_9_during_updates_leaves_a_whole_committed_context";

/// Date of version `i` of the chain (every other day).
fn chain_date(i: u64) -> NaiveDate {
    day(2024, 1, 1) + chrono::Duration::days(2 * i as i64)
}

/// Version `i` of the chain as the child commits it, computed in memory from version 1.
fn chain_expected(upto: u64) -> Vec<(Header, Strip)> {
    let mut out: Vec<(Header, Strip)> = Vec::new();
    for i in 1..=upto {
        let old = out.last();
        let mode = if old.is_some() {
            Mode::Nominal
        } else {
            Mode::Init
        };
        let u = Update::new(old.map(|o| &o.0), &site(), chain_date(i), mode, &RULE).unwrap();
        let s = u
            .apply(
                old.map(|o| &o.1),
                &Obs::random(1000 + i, COLS * LINES).view(),
            )
            .unwrap();
        out.push((u.header().clone(), s));
    }
    out
}

/// The version number of a chain context from its last date.
fn chain_index(c: &Context) -> u64 {
    ((c.last_date() - chain_date(0)).num_days() / 2) as u64
}

/// The child: updates the context in `dir` version after version until killed, printing
/// `committed N` after each commit.
fn kill_child(dir: &Path) -> ! {
    use std::io::Write;
    let start = Context::open(dir).unwrap().map_or(0, |c| chain_index(&c));
    println!("ready");
    for i in start + 1..start + 10_000 {
        update_dir(
            dir,
            chain_date(i),
            &Obs::random(1000 + i, COLS * LINES),
            &RULE,
        )
        .unwrap();
        let mut out = std::io::stdout().lock();
        writeln!(out, "committed {i}").unwrap();
        out.flush().unwrap();
    }
    std::process::exit(0)
}

#[test]
fn kill_9_during_updates_leaves_a_whole_committed_context() {
    if let Some(dir) = std::env::var_os(KILL_CHILD) {
        kill_child(Path::new(&dir));
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("CTX");
    let exe = std::env::current_exe().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let mut committed = 0u64;
    let mut expected = Vec::new();
    let mut mid_update = 0;
    for round in 0..12 {
        use std::io::{BufRead, Read};
        let mut child = std::process::Command::new(&exe)
            .args([KILL_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(KILL_CHILD, &dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The clock starts when the child has opened the context, however slow its start.
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut text = String::new();
        while !text.contains("ready") {
            assert!(out.read_line(&mut text).unwrap() > 0, "child ended: {text}");
        }
        let wait = rng.gen_range(0..250);
        std::thread::sleep(std::time::Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        out.read_to_string(&mut text).unwrap();
        let printed = text
            .lines()
            // libtest may print "test NAME ... " on the same line as the first one.
            .filter_map(|l| l.rsplit_once("committed ")?.1.parse::<u64>().ok())
            .max();
        let printed = printed.unwrap_or(committed).max(committed);
        if entries(&dir).iter().any(|n| n.contains(".tmp-")) {
            mid_update += 1;
        }
        match Context::open(&dir).unwrap() {
            None => assert_eq!(printed, 0, "round {round}: a committed context vanished"),
            Some(c) => {
                let i = chain_index(&c);
                // The child may be killed after its commit and before it printed.
                assert!(
                    i == printed || i == printed + 1,
                    "round {round}: version {i} open, {printed} committed"
                );
                if expected.len() < i as usize {
                    expected = chain_expected(i + 8);
                }
                let (h, s) = &expected[i as usize - 1];
                assert_eq!(c.header(), h, "round {round}");
                assert_eq!(&c.read_strip(0..LINES).unwrap(), s, "round {round}");
                committed = i;
            }
        }
    }
    assert!(
        committed >= 3,
        "the children committed only {committed} versions"
    );
    assert!(mid_update >= 1, "no kill landed in the middle of an update");
    // The next normal update cleans whatever the kills left.
    update_dir(
        &dir,
        chain_date(committed + 1),
        &Obs::random(1000 + committed + 1, COLS * LINES),
        &RULE,
    )
    .unwrap();
    assert_eq!(entries(&dir).len(), 3, "{:?}", entries(&dir));
}
