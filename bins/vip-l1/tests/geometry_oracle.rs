//! Geometry oracle: GDAL, given only the RPC that vip-l1 wrote for each raw band and the same
//! DEM, must orthorectify where vip-l1 did (gdalwarp, shift by correlation), and gdaltransform
//! must locate raw pixels where vip-l1's sensor model does.

use std::path::{Path, PathBuf};
use std::process::Command;

use vip_testkit::{read_band as read, run, run_with_stdin, SimScene};

const L1: &str = env!("CARGO_BIN_EXE_vip-l1");

fn vrt_of(rpc_dir: &Path, code: &str) -> PathBuf {
    std::fs::read_dir(rpc_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(&format!("_{code}_RPC.vrt")))
        .unwrap()
}

#[test]
fn gdal_with_our_rpc_agrees_with_our_orthorectification() {
    let s = SimScene::new("SIMULSIT", "2024-03-15", 240, 240, 21, 900.0);
    let (scene, l1a, dem) = (s.dir.clone(), s.l1a.clone(), s.dem());
    let site = vip::geometry::grid::Site::read(&s.site_json()).unwrap();
    let out = s.scratch("OUT");
    let r = run(
        L1,
        &s.l1_args(
            &s.gipp(),
            &dem,
            &out,
            &["--site", s.site_json().to_str().unwrap()],
        ),
    );
    r.code(0);
    let hdr = r.paths().remove(0);
    let l1c = vip::product::L1c::open(&hdr).unwrap();
    let image = l1c.image_path(&out);
    let rpc_dir = l1c.dbl_dir(&out).join(vip::level1::RPC_FOLDER);
    let [ul, _, lr, _] = site.corners();
    let mut shifts = Vec::new();
    for (b, code) in [(1, "B01"), (5, "B05"), (6, "B06"), (11, "B11")] {
        let warped = s.scratch(&format!("gdal_{code}.tif"));
        let status = Command::new("gdalwarp")
            .args([
                "-q",
                "-rpc",
                "-to",
                &format!("RPC_DEM={}", dem.display()),
                "-r",
                "cubic",
                "-et",
                "0",
            ])
            .args([
                "-wo",
                "XSCALE=1",
                "-wo",
                "YSCALE=1",
                "-t_srs",
                "EPSG:32631",
                "-ot",
                "Float32",
            ])
            .args(["-dstnodata", "nan", "-tr", "5", "5", "-te"])
            .args([ul.0, lr.1, lr.0, ul.1].map(|v| v.to_string()))
            .arg(vrt_of(&rpc_dir, code))
            .arg(&warped)
            .status()
            .unwrap();
        assert!(status.success());
        let (ours, w, h) = read(&image, b);
        // Defective detectors are filled in ours, dark lines in GDAL's: leave them out.
        let (pix, _, _) = read(&image, 14);
        let bit = 1 << (b - 1);
        let ours: Vec<f64> = ours
            .iter()
            .zip(&pix)
            .map(|(&v, &p)| {
                if v == -10000.0 || (p as i64) & bit != 0 {
                    f64::NAN
                } else {
                    v
                }
            })
            .collect();
        let (theirs, w2, h2) = read(&warped, 1);
        assert_eq!((w, h), (w2, h2));
        let s = vip::geometry::shift::estimate(&ours, &theirs, w, h, 3);
        eprintln!(
            "{code}: gdalwarp − vip-l1 shift dx {:+.3} dy {:+.3} px (peak {:.3})",
            s.dx, s.dy, s.peak
        );
        assert!(s.peak > 0.9, "{code}: images do not correlate ({})", s.peak);
        shifts.push(s.dx * s.dx + s.dy * s.dy);
    }
    let rms = (shifts.iter().sum::<f64>() / shifts.len() as f64).sqrt();
    eprintln!("RMS shift over bands: {rms:.3} px");
    assert!(rms < 0.2, "RMS shift {rms:.3} px");

    // Check points: gdaltransform with the RPC and the DEM against our sensor model on the DEM.
    let inputs = vip::level1::Inputs::load(&l1a, &scene.join("GIPP"), &dem, None).unwrap();
    let to_ll = vip::geometry::lonlat::MapToLonLat::new(32631).unwrap();
    let models = inputs.models(&to_ll).unwrap();
    let (dem_grid, _) = vip::geometry::dem::Dem::read(&dem).unwrap();
    for (b, code) in [(4usize, "B05"), (5, "B06")] {
        let band = &inputs.product.bands[b];
        let points: Vec<(f64, f64)> = [(0.2, 0.3), (0.5, 0.5), (0.8, 0.1), (0.3, 0.9), (0.9, 0.7)]
            .iter()
            .map(|&(fl, fc)| (fl * band.lines as f64, fc * band.cols as f64))
            .collect();
        let stdin: String = points
            .iter()
            .map(|(l, c)| format!("{} {}\n", c + 0.5, l + 0.5))
            .collect();
        let dem_option = format!("RPC_DEM={}", dem.display());
        let vrt = vrt_of(&rpc_dir, code);
        let args = [
            "-rpc",
            "-to",
            &dem_option,
            "-to",
            "RPC_PIXEL_ERROR_THRESHOLD=0.0001",
            "-t_srs",
            "EPSG:32631",
            vrt.to_str().unwrap(),
        ];
        let transformed = run_with_stdin("gdaltransform", &args, &stdin);
        transformed.code(0);
        let out = transformed.stdout;
        for ((l, c), line) in points.iter().zip(out.lines()) {
            let v: Vec<f64> = line
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            let (e, n, _) = models[b].locate(*l, *c, |e, n| dem_grid.height(e, n), dem_grid.pixel);
            let d = ((v[0] - e).powi(2) + (v[1] - n).powi(2)).sqrt() / 5.0;
            assert!(
                d < 0.1,
                "{code} ({l}, {c}): gdaltransform {v:?} vs model ({e}, {n}): {d:.3} px"
            );
        }
    }
}
