//! The RPC of a raw band where GDAL finds it: a VRT that wraps the band's image, by a path
//! relative to the VRT, and carries the RPC in its `RPC` metadata domain. `gdalwarp -rpc` or
//! `gdaltransform -rpc` on the VRT then orthorectify or locate the raw band; the product the
//! image belongs to is not touched.

use std::path::{Component, Path, PathBuf};

use gdal::raster::RasterCreationOptions;
use gdal::{DriverManager, Metadata};

use super::io::{finish, gdal_message, open, with_detail};
use super::staged::Staged;
use crate::error::{Result, VipError};
use crate::geometry::rpc::Rpc;

/// GDAL's metadata domain of RPCs.
pub const RPC_DOMAIN: &str = "RPC";

/// Writes `vrt`, a VRT of the raster `image` (every band, same size and type) that refers to
/// it by a path relative to the VRT's folder and holds `rpc` in the `RPC` metadata domain,
/// numbers written so that they read back to the same values. Built under a temporary name and
/// renamed into place; an existing `vrt` is refused unless `overwrite`. Returns the VRT's path.
pub fn write_rpc_vrt(image: &Path, rpc: &Rpc, vrt: &Path, overwrite: bool) -> Result<PathBuf> {
    let staged = Staged::file(vrt, overwrite)?;
    let dir = match vrt.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let vrt_dir = std::fs::canonicalize(dir).map_err(|e| VipError::output_io(dir, &e))?;
    let image_abs = std::fs::canonicalize(image).map_err(|e| VipError::input_io(image, &e))?;
    // GDAL records a source by a relative path when the VRT's folder is a prefix of the path it
    // was opened by; opening it as `<VRT folder>/<relative path>` makes it so, `..` included.
    let source = match relative_to(&vrt_dir, &image_abs) {
        Some(rel) => vrt_dir.join(rel),
        None => image_abs,
    };
    let src = open(&source)?;
    let out_err = |e: gdal::errors::GdalError| {
        VipError::output(
            vrt,
            with_detail("cannot write VRT", &gdal_message(&e, staged.path())),
        )
    };
    let driver = DriverManager::get_driver_by_name("VRT").map_err(out_err)?;
    let mut ds = src
        .create_copy(&driver, staged.path(), &RasterCreationOptions::new())
        .map_err(out_err)?;
    for (key, value) in rpc.metadata() {
        ds.set_metadata_item(&key, &value, RPC_DOMAIN)
            .map_err(out_err)?;
    }
    finish(ds, vrt)?;
    drop(src);
    staged.commit()
}

/// The RPC in the `RPC` metadata domain of the raster at `path`, or `None` when it has none.
/// An RPC with a missing or malformed item is a bad input naming the file and the item.
pub fn read_rpc(path: &Path) -> Result<Option<Rpc>> {
    let ds = open(path)?;
    let Some(items) = ds.metadata_domain(RPC_DOMAIN) else {
        return Ok(None);
    };
    let items: Vec<(String, String)> = items
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if items.is_empty() {
        return Ok(None);
    }
    Rpc::from_metadata(&items)
        .map(Some)
        .map_err(|msg| VipError::bad_input(path, msg))
}

/// `target` relative to the folder `base` (both absolute; `.` and `..` taken lexically), with
/// `..` where needed; `None` when they share no root.
fn relative_to(base: &Path, target: &Path) -> Option<PathBuf> {
    let (b, t) = (lexical(base), lexical(target));
    if b.first() != t.first() {
        return None;
    }
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    Some(rel)
}

/// The components of `p` without `.`, and with each `..` taking away the name before it.
fn lexical(p: &Path) -> Vec<Component<'_>> {
    let mut v = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(v.last(), Some(Component::Normal(_))) => {
                v.pop();
            }
            c => v.push(c),
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use super::*;
    use crate::geometry::dem::Dem;
    use crate::geometry::lonlat::MapToLonLat;
    use crate::geometry::rpc::fit_band_rpc;
    use crate::geometry::sensor::example_model as test_band_model;
    use crate::geometry::sensor::BandModel;
    use crate::raster::{create_geotiff, srs_wkt_from_epsg, write_window, RasterSpec, SampleType};

    const LINES: usize = 1000;
    const COLS: usize = 1200;

    /// A blank raw band (uint16, LINES × COLS) at `path`.
    fn raw_band(path: &Path) {
        let spec = RasterSpec::new(COLS, LINES, 1, SampleType::U16);
        let ds = create_geotiff(path, &spec, &[]).unwrap();
        finish(ds, path).unwrap();
    }

    /// The fitted RPC of the test band, and the band's model.
    fn fitted() -> (Rpc, BandModel, MapToLonLat) {
        let model = test_band_model(0.0125);
        let to_ll = MapToLonLat::new(32631).unwrap();
        let (rpc, stats) = fit_band_rpc(&model, LINES, COLS, &to_ll, (100.0, 1000.0)).unwrap();
        assert!(stats.check_rms < 0.01, "{stats:?}");
        (rpc, model, to_ll)
    }

    /// The model's (line, col) of map point (E, N) at height h, by Newton's method.
    fn model_pixel(model: &BandModel, e: f64, n: f64, h: f64) -> (f64, f64) {
        let (mut l, mut c) = (LINES as f64 / 2.0, COLS as f64 / 2.0);
        for _ in 0..20 {
            let p = model.ground(l, c, h);
            let pl = model.ground(l + 1.0, c, h);
            let pc = model.ground(l, c + 1.0, h);
            let (a, b) = (pl.0 - p.0, pc.0 - p.0);
            let (cc, d) = (pl.1 - p.1, pc.1 - p.1);
            let (re, rn) = (e - p.0, n - p.1);
            let det = a * d - b * cc;
            l += (d * re - b * rn) / det;
            c += (a * rn - cc * re) / det;
        }
        (l, c)
    }

    /// Runs `gdaltransform -rpc` on `vrt` with transformer options `to`, one point a line.
    fn gdaltransform(
        vrt: &Path,
        to: &[String],
        inverse: bool,
        points: &[(f64, f64)],
    ) -> Vec<(f64, f64)> {
        let mut cmd = Command::new("gdaltransform");
        cmd.arg("-rpc");
        for o in to {
            cmd.args(["-to", o]);
        }
        if inverse {
            cmd.arg("-i");
        }
        let mut child = cmd
            .arg(vrt)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gdaltransform (gdal-bin) must be installed");
        let input: String = points
            .iter()
            .map(|(x, y)| format!("{x:.12} {y:.12}\n"))
            .collect();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let res: Vec<(f64, f64)> = text
            .lines()
            .map(|l| {
                let v: Vec<f64> = l.split_whitespace().map(|w| w.parse().unwrap()).collect();
                (v[0], v[1])
            })
            .collect();
        assert_eq!(res.len(), points.len(), "{text}");
        res
    }

    /// Check points (line, col) over the whole band, off the fitting grid, edges included.
    fn check_points() -> Vec<(f64, f64)> {
        let mut pts = Vec::new();
        for i in 0..7 {
            for j in 0..7 {
                pts.push((
                    -0.4 + (LINES as f64 - 0.2) * i as f64 / 6.0,
                    -0.3 + (COLS as f64 - 0.4) * j as f64 / 6.0 + 0.123,
                ));
            }
        }
        pts
    }

    #[test]
    fn vrt_refers_to_the_image_by_a_relative_path_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let product = dir.path().join("L1A").join("X.DBL.DIR");
        std::fs::create_dir_all(&product).unwrap();
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        let band = product.join("B01.tif");
        raw_band(&band);
        let (rpc, _, _) = fitted();
        let vrt = dir.path().join("out").join("B01.vrt");
        assert_eq!(write_rpc_vrt(&band, &rpc, &vrt, false).unwrap(), vrt);
        let xml = std::fs::read_to_string(&vrt).unwrap();
        assert!(
            xml.contains(r#"<SourceFilename relativeToVRT="1">../L1A/X.DBL.DIR/B01.tif<"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<Metadata domain="RPC">"#), "{xml}");
        assert_eq!(read_rpc(&vrt).unwrap(), Some(rpc.clone()));
        // GDAL's own parser reads the same numbers.
        let ds = open(&vrt).unwrap();
        let mut info: gdal_sys::GDALRPCInfoV2 = unsafe { std::mem::zeroed() };
        let md = ds.metadata_domain(RPC_DOMAIN).unwrap();
        let c: Vec<std::ffi::CString> = md
            .iter()
            .map(|s| std::ffi::CString::new(s.as_str()).unwrap())
            .collect();
        let mut ptrs: Vec<*mut std::ffi::c_char> = c.iter().map(|s| s.as_ptr() as *mut _).collect();
        ptrs.push(std::ptr::null_mut());
        assert_eq!(
            unsafe { gdal_sys::GDALExtractRPCInfoV2(ptrs.as_mut_ptr(), &mut info) },
            1
        );
        assert_eq!(info.dfLINE_OFF, rpc.line_off);
        assert_eq!(info.dfLONG_SCALE, rpc.long_scale);
        assert_eq!(info.adfSAMP_NUM_COEFF, rpc.samp_num_coeff);
        assert_eq!(info.adfLINE_DEN_COEFF, rpc.line_den_coeff);
        // The image is untouched, an existing VRT is kept, and a plain raster has no RPC.
        assert_eq!(std::fs::read_dir(&product).unwrap().count(), 1);
        assert_eq!(read_rpc(&band).unwrap(), None);
        let err = write_rpc_vrt(&band, &rpc, &vrt, false).unwrap_err();
        assert_eq!(err.exit_code(), 5, "{err}");
        write_rpc_vrt(&band, &rpc, &vrt, true).unwrap();
        // A VRT opened from another working directory still finds its image.
        let out = Command::new("gdalinfo")
            .arg("-checksum")
            .arg("B01.vrt")
            .current_dir(dir.path().join("out"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Checksum=0"));
    }

    #[test]
    fn a_malformed_rpc_is_a_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let band = dir.path().join("B01.tif");
        raw_band(&band);
        let (rpc, _, _) = fitted();
        let vrt = dir.path().join("B01.vrt");
        write_rpc_vrt(&band, &rpc, &vrt, false).unwrap();
        let xml = std::fs::read_to_string(&vrt).unwrap();
        let start = xml.find(r#"<MDI key="LINE_NUM_COEFF">"#).unwrap();
        let end = start + xml[start..].find("</MDI>").unwrap();
        let bad = format!(
            "{}<MDI key=\"LINE_NUM_COEFF\">1 2{}",
            &xml[..start],
            &xml[end..]
        );
        std::fs::write(&vrt, bad).unwrap();
        let err = read_rpc(&vrt).unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(err.to_string().contains("LINE_NUM_COEFF"), "{err}");
    }

    /// `gdaltransform -rpc` on the VRT agrees with the sensor model at fixed heights, both ways:
    /// (pixel, line) → (lon, lat), and (lon, lat) → (pixel, line) with `-i`. GDAL pixel/line
    /// have the corner of the first pixel at (0, 0): the model's (line, col) is GDAL's
    /// (col + 0.5, line + 0.5).
    #[test]
    fn gdaltransform_agrees_with_the_sensor_model_at_fixed_heights() {
        let dir = tempfile::tempdir().unwrap();
        let band = dir.path().join("B01.tif");
        raw_band(&band);
        let (rpc, model, to_ll) = fitted();
        let vrt = write_rpc_vrt(&band, &rpc, &dir.path().join("B01.vrt"), false).unwrap();
        let pts = check_points();
        let mut worst: f64 = 0.0;
        for h in [200.0, 900.0] {
            let to = [
                format!("RPC_HEIGHT={h}"),
                "RPC_PIXEL_ERROR_THRESHOLD=0.0001".to_string(),
            ];
            let pixels: Vec<(f64, f64)> = pts.iter().map(|&(l, c)| (c + 0.5, l + 0.5)).collect();
            let lonlat = gdaltransform(&vrt, &to, false, &pixels);
            for (&(l, c), &(lon, lat)) in pts.iter().zip(&lonlat) {
                let (e, n) = to_ll.map(lon, lat).unwrap();
                let (ml, mc) = model_pixel(&model, e, n, h);
                worst = worst.max(((ml - l).powi(2) + (mc - c).powi(2)).sqrt());
            }
            let truth: Vec<(f64, f64)> = pts
                .iter()
                .map(|&(l, c)| {
                    let (e, n) = model.ground(l, c, h);
                    to_ll.lonlat(e, n).unwrap()
                })
                .collect();
            let back = gdaltransform(&vrt, &to, true, &truth);
            for (&(l, c), &(px, ln)) in pts.iter().zip(&back) {
                worst = worst.max(((ln - 0.5 - l).powi(2) + (px - 0.5 - c).powi(2)).sqrt());
            }
        }
        eprintln!("gdaltransform at fixed heights: worst {worst:.2e} pixel");
        assert!(worst < 0.05, "{worst}");
    }

    /// The same through a DEM (`RPC_DEM`): GDAL intersects the line of sight with the terrain.
    #[test]
    fn gdaltransform_agrees_with_the_sensor_model_over_a_dem() {
        let dir = tempfile::tempdir().unwrap();
        let band = dir.path().join("B01.tif");
        raw_band(&band);
        let (rpc, model, to_ll) = fitted();
        let vrt = write_rpc_vrt(&band, &rpc, &dir.path().join("B01.vrt"), false).unwrap();

        // Hills from 100 to 1000 m over the band's footprint, 20 m posts, in EPSG:32631.
        let (mut e0, mut n0, mut e1, mut n1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (l, c) in [
            (0.0, 0.0),
            (0.0, COLS as f64),
            (LINES as f64, 0.0),
            (LINES as f64, COLS as f64),
        ] {
            for h in [0.0, 1100.0] {
                let (e, n) = model.ground(l, c, h);
                (e0, n0, e1, n1) = (e0.min(e), n0.min(n), e1.max(e), n1.max(n));
            }
        }
        let pixel = 20.0;
        let (ulx, uly) = (
            (e0 / pixel).floor() * pixel - 1000.0,
            (n1 / pixel).ceil() * pixel + 1000.0,
        );
        let width = ((e1 + 1000.0 - ulx) / pixel).ceil() as usize;
        let height = ((uly - n0 + 1000.0) / pixel).ceil() as usize;
        let terrain = |e: f64, n: f64| {
            let tau = std::f64::consts::TAU;
            550.0 + 450.0 * (tau * (e - ulx) / 7000.0).sin() * (tau * (n - uly) / 9000.0).cos()
        };
        let data: Vec<f32> = (0..height)
            .flat_map(|r| (0..width).map(move |c| (r, c)))
            .map(|(r, c)| {
                terrain(
                    ulx + (c as f64 + 0.5) * pixel,
                    uly - (r as f64 + 0.5) * pixel,
                ) as f32
            })
            .collect();
        let dem = Dem {
            ulx,
            uly,
            pixel,
            width,
            height,
            data,
        };
        let dem_path = dir.path().join("DEM.tif");
        let spec = RasterSpec {
            geo_transform: dem.geo_transform(),
            srs_wkt: srs_wkt_from_epsg(32631).unwrap(),
            ..RasterSpec::new(width, height, 1, SampleType::F32)
        };
        let mut ds = create_geotiff(&dem_path, &spec, &[]).unwrap();
        write_window(&mut ds, 1, (0, 0), (width, height), &dem.data).unwrap();
        finish(ds, &dem_path).unwrap();

        let to = [
            format!("RPC_DEM={}", dem_path.display()),
            "RPC_PIXEL_ERROR_THRESHOLD=0.0001".to_string(),
        ];
        let pts = check_points();
        let located: Vec<(f64, f64, f64)> = pts
            .iter()
            .map(|&(l, c)| model.locate(l, c, |e, n| dem.height(e, n), dem.pixel))
            .collect();
        let (lo, hi) = located.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.2), hi.max(p.2))
        });
        assert!(hi - lo > 400.0, "{lo}..{hi}");

        let mut worst: f64 = 0.0;
        let pixels: Vec<(f64, f64)> = pts.iter().map(|&(l, c)| (c + 0.5, l + 0.5)).collect();
        let lonlat = gdaltransform(&vrt, &to, false, &pixels);
        for (&(l, c), &(lon, lat)) in pts.iter().zip(&lonlat) {
            let (e, n) = to_ll.map(lon, lat).unwrap();
            let (ml, mc) = model_pixel(&model, e, n, dem.height(e, n));
            worst = worst.max(((ml - l).powi(2) + (mc - c).powi(2)).sqrt());
        }
        let truth: Vec<(f64, f64)> = located
            .iter()
            .map(|&(e, n, _)| to_ll.lonlat(e, n).unwrap())
            .collect();
        let back = gdaltransform(&vrt, &to, true, &truth);
        for (&(l, c), &(px, ln)) in pts.iter().zip(&back) {
            worst = worst.max(((ln - 0.5 - l).powi(2) + (px - 0.5 - c).powi(2)).sqrt());
        }
        eprintln!("gdaltransform over a DEM: worst {worst:.2e} pixel");
        assert!(worst < 0.05, "{worst}");
        // The relief matters: at a constant mean height the same points are pixels away.
        let flat = gdaltransform(&vrt, &["RPC_HEIGHT=550".to_string()], true, &truth);
        let off = pts
            .iter()
            .zip(&flat)
            .map(|(&(l, c), &(px, ln))| ((ln - 0.5 - l).powi(2) + (px - 0.5 - c).powi(2)).sqrt())
            .fold(0.0, f64::max);
        assert!(off > 1.0, "{off}");
    }

    /// `gdalwarp -rpc` orthorectifies the raw band where the sensor model says: a band whose
    /// counts are 50 × column (band 1) and 50 × line (band 2), warped bilinearly to a UTM grid,
    /// gives back at each output pixel centre the model's column and line of that point.
    #[test]
    fn gdalwarp_puts_the_raw_pixels_where_the_model_does() {
        let dir = tempfile::tempdir().unwrap();
        let band = dir.path().join("B01.tif");
        let spec = RasterSpec::new(COLS, LINES, 2, SampleType::U16);
        let mut ds = create_geotiff(&band, &spec, &[]).unwrap();
        let cols: Vec<u16> = (0..LINES * COLS)
            .map(|i| (50 * (i % COLS)) as u16)
            .collect();
        let lines: Vec<u16> = (0..LINES * COLS)
            .map(|i| (50 * (i / COLS)) as u16)
            .collect();
        write_window(&mut ds, 1, (0, 0), (COLS, LINES), &cols).unwrap();
        write_window(&mut ds, 2, (0, 0), (COLS, LINES), &lines).unwrap();
        finish(ds, &band).unwrap();
        let (rpc, model, _) = fitted();
        let vrt = write_rpc_vrt(&band, &rpc, &dir.path().join("B01.vrt"), false).unwrap();

        let h = 700.0;
        let (e, n) = model.ground(LINES as f64 / 2.0, COLS as f64 / 2.0, h);
        let (ulx, uly) = (
            (e / 20.0).round() * 20.0 - 1000.0,
            (n / 20.0).round() * 20.0 + 1000.0,
        );
        let ortho = dir.path().join("ortho.tif");
        let out = Command::new("gdalwarp")
            .args(["-q", "-rpc", "-to", &format!("RPC_HEIGHT={h}")])
            // Plain bilinear: no kernel widened for the coarser output, whose uneven weights
            // would move the result by up to 0.01 pixel.
            .args(["-wo", "XSCALE=1", "-wo", "YSCALE=1"])
            .args([
                "-t_srs",
                "EPSG:32631",
                "-tr",
                "20",
                "20",
                "-r",
                "bilinear",
                "-et",
                "0",
            ])
            .args(["-ot", "Float32", "-te"])
            .args([ulx, uly - 2000.0, ulx + 2000.0, uly].map(|v| v.to_string()))
            .arg(&vrt)
            .arg(&ortho)
            .output()
            .expect("gdalwarp (gdal-bin) must be installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ds = open(&ortho).unwrap();
        let got_c: Vec<f32> = crate::raster::read_window(&ds, 1, (0, 0), (100, 100)).unwrap();
        let got_l: Vec<f32> = crate::raster::read_window(&ds, 2, (0, 0), (100, 100)).unwrap();
        let mut worst: f64 = 0.0;
        for r in 0..100 {
            for c in 0..100 {
                let (pe, pn) = (ulx + 20.0 * c as f64 + 10.0, uly - 20.0 * r as f64 - 10.0);
                let (ml, mc) = model_pixel(&model, pe, pn, h);
                let i = r * 100 + c;
                let d = (f64::from(got_c[i]) / 50.0 - mc).hypot(f64::from(got_l[i]) / 50.0 - ml);
                worst = worst.max(d);
            }
        }
        eprintln!("gdalwarp -rpc: worst {worst:.2e} pixel");
        assert!(worst < 0.05, "{worst}");
    }

    #[test]
    fn relative_paths() {
        let r = |b: &str, t: &str| relative_to(Path::new(b), Path::new(t)).unwrap();
        assert_eq!(r("/a/out", "/a/L1A/x.tif"), Path::new("../L1A/x.tif"));
        assert_eq!(r("/a", "/a/x.tif"), Path::new("x.tif"));
        assert_eq!(r("/a/b/../c", "/a/c/./x.tif"), Path::new("x.tif"));
        assert_eq!(r("/", "/x.tif"), Path::new("x.tif"));
    }
}
