//! Round trips through GDAL, checked against `gdalinfo` where it is the independent oracle.

use std::fmt::Debug;
use std::path::Path;
use std::process::Command;

use gdal::raster::GdalType;
use gdal::{Dataset, DriverManager, Metadata};

use super::*;

const EPSG: u32 = 32631;
const GT: [f64; 6] = [600_000.0, 5.0, 0.0, 4_800_000.0, 0.0, -5.0];

/// Sample types under test, with a deterministic pattern of values covering their range.
trait Sample: GdalType + Copy + Default + PartialEq + Debug {
    const TYPE: SampleType;
    fn pattern(i: u64) -> Self;
}

impl Sample for i16 {
    const TYPE: SampleType = SampleType::I16;
    fn pattern(i: u64) -> Self {
        (i.wrapping_mul(2_654_435_761) % 65_536) as u16 as i16
    }
}

impl Sample for u16 {
    const TYPE: SampleType = SampleType::U16;
    fn pattern(i: u64) -> Self {
        (i.wrapping_mul(2_654_435_761) % 65_536) as u16
    }
}

impl Sample for u8 {
    const TYPE: SampleType = SampleType::U8;
    fn pattern(i: u64) -> Self {
        (i % 251) as u8
    }
}

impl Sample for f32 {
    const TYPE: SampleType = SampleType::F32;
    fn pattern(i: u64) -> Self {
        (i as f32).sqrt() * 0.37 - 100.0
    }
}

fn value<T: Sample>(band: usize, row: usize, col: usize) -> T {
    T::pattern((band as u64 * 1_000_003 + row as u64) * 100_003 + col as u64)
}

fn spec(width: usize, height: usize, bands: usize, t: SampleType) -> RasterSpec {
    RasterSpec {
        geo_transform: GT,
        srs_wkt: srs_wkt_from_epsg(EPSG).unwrap(),
        nodata: Some(if t == SampleType::I16 { -10_000.0 } else { 0.0 }),
        scale: Some(0.001),
        offset: Some(-0.5),
        band_descriptions: (1..=bands).map(|b| format!("B{b:02}")).collect(),
        ..RasterSpec::new(width, height, bands, t)
    }
}

/// Writes the pattern of `T` as a GeoTIFF at `dest`, in strips of `step` rows.
fn write_pattern<T: Sample>(dest: &Path, s: &RasterSpec, step: usize, co: &[(String, String)]) {
    let staged = Staged::file(dest, false).unwrap();
    let mut ds = create_geotiff(staged.path(), s, co).unwrap();
    for win in Strips::new(s.height, step) {
        for b in 1..=s.bands {
            let data: Vec<T> = (win.row..win.end())
                .flat_map(|r| (0..s.width).map(move |c| value::<T>(b, r, c)))
                .collect();
            write_window(&mut ds, b, (0, win.row), (s.width, win.rows), &data).unwrap();
        }
    }
    finish(ds, dest).unwrap();
    staged.commit().unwrap();
}

fn gdalinfo(path: &Path) -> String {
    let out = Command::new("gdalinfo")
        .arg(path)
        .output()
        .expect("gdalinfo runs");
    assert!(out.status.success(), "gdalinfo {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn round_trip<T: Sample>() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("r.tif");
    let s = spec(300, 270, 2, T::TYPE);
    write_pattern::<T>(&path, &s, 100, &[]);

    let ds = open(&path).unwrap();
    assert_eq!(ds.raster_size(), (300, 270));
    assert_eq!(ds.raster_count(), 2);
    assert_eq!(geo_transform(&ds).unwrap(), GT);
    let srs = gdal::spatial_ref::SpatialRef::from_wkt(&srs_wkt(&ds)).unwrap();
    assert_eq!(srs.auth_code().unwrap(), EPSG as i32);
    assert_eq!(spec_like(&ds).unwrap(), s);
    for b in 1..=2 {
        let band = ds.rasterband(b).unwrap();
        assert_eq!(band.band_type(), T::TYPE.gdal());
        assert_eq!(band.block_size(), (256, 256));
        assert_eq!(band.no_data_value(), s.nodata);
        assert_eq!(band.scale(), Some(0.001));
        assert_eq!(band.offset(), Some(-0.5));
        assert_eq!(band.description().unwrap(), format!("B{b:02}"));
        let mut seen = 0;
        for win in Strips::new(270, 64) {
            let got: Vec<T> = read_rows(&ds, b, win).unwrap();
            for (i, v) in got.iter().enumerate() {
                let (r, c) = (win.row + i / 300, i % 300);
                assert_eq!(*v, value::<T>(b, r, c), "band {b} row {r} col {c}");
            }
            seen += got.len();
        }
        assert_eq!(seen, 300 * 270);
    }
    assert_eq!(
        ds.metadata_item("COMPRESSION", "IMAGE_STRUCTURE")
            .as_deref(),
        Some("ZSTD")
    );
    // gdalinfo, independently of this crate's reading.
    let info = gdalinfo(&path);
    assert!(info.contains("Block=256x256"), "{info}");
    assert!(info.contains("COMPRESSION=ZSTD"), "{info}");
    // the horizontal predictor for integers, none for floats
    assert_eq!(info.contains("PREDICTOR=2"), T::TYPE.is_integer(), "{info}");
    assert!(!info.contains("PREDICTOR=3"), "{info}");
    assert!(info.contains(&format!("ID[\"EPSG\",{EPSG}]")), "{info}");
    assert!(info.contains("Description = B02"), "{info}");
    assert!(info.contains("Offset: -0.5,   Scale:0.001"), "{info}");
}

#[test]
fn round_trip_i16() {
    round_trip::<i16>();
}

#[test]
fn round_trip_u16() {
    round_trip::<u16>();
}

#[test]
fn round_trip_u8() {
    round_trip::<u8>();
}

#[test]
fn round_trip_f32() {
    round_trip::<f32>();
}

#[test]
fn windows_inside_a_band() {
    let driver = DriverManager::get_driver_by_name("MEM").unwrap();
    let mut ds = driver
        .create_with_band_type::<u16, _>("", 40, 30, 1)
        .unwrap();
    let all: Vec<u16> = (0..30 * 40).map(|i| i as u16).collect();
    write_window(&mut ds, 1, (0, 0), (40, 30), &all).unwrap();
    // Overwrite a 3 x 2 patch, then read a window around it.
    write_window(&mut ds, 1, (10, 5), (3, 2), &[9000u16; 6]).unwrap();
    let got: Vec<u16> = read_window(&ds, 1, (9, 4), (5, 4)).unwrap();
    for (i, v) in got.iter().enumerate() {
        let (r, c) = (4 + i / 5, 9 + i % 5);
        let inside = (5..7).contains(&r) && (10..13).contains(&c);
        assert_eq!(*v, if inside { 9000 } else { (r * 40 + c) as u16 });
    }
    // Reading as another type converts.
    let f: Vec<f32> = read_window(&ds, 1, (0, 1), (2, 1)).unwrap();
    assert_eq!(f, [40.0, 41.0]);
    // Asking outside the raster is a bug, not bad input.
    let e = read_window::<u16>(&ds, 1, (39, 0), (2, 1)).unwrap_err();
    assert_eq!(e.exit_code(), 70);
    let e = read_window::<u16>(&ds, 2, (0, 0), (1, 1)).unwrap_err();
    assert_eq!(e.exit_code(), 70);
    let e = write_window(&mut ds, 1, (0, 0), (2, 2), &[1u16; 3]).unwrap_err();
    assert_eq!(e.exit_code(), 70);
}

#[test]
fn creation_options_override_defaults_key_by_key() {
    let co = |k: &str, v: &str| (k.to_string(), v.to_string());
    let merged = merge_options(
        &geotiff_defaults(SampleType::U16),
        &[co("compress", "DEFLATE"), co("ZLEVEL", "6")],
    );
    assert!(merged.contains(&co("COMPRESS", "DEFLATE")));
    assert!(merged.contains(&co("ZLEVEL", "6")));
    assert!(merged.contains(&co("TILED", "YES")));
    assert!(merged.contains(&co("PREDICTOR", "2")));
    assert_eq!(merged.len(), geotiff_defaults(SampleType::U16).len());
    assert!(!merged
        .iter()
        .any(|(k, _)| k == "compress" || k == "ZSTD_LEVEL"));

    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("o.tif");
    let s = spec(600, 300, 1, SampleType::U16);
    write_pattern::<u16>(
        &path,
        &s,
        300,
        &[co("COMPRESS", "DEFLATE"), co("BLOCKXSIZE", "512")],
    );
    let info = gdalinfo(&path);
    assert!(info.contains("Block=512x256"), "{info}");
    assert!(info.contains("COMPRESSION=DEFLATE"), "{info}");
}

#[test]
fn num_threads_follows_gdal_config() {
    // Thread-local, so tests running beside this one do not see it.
    gdal::config::set_thread_local_config_option("GDAL_NUM_THREADS", "3").unwrap();
    let co = geotiff_defaults(SampleType::I16);
    gdal::config::clear_thread_local_config_option("GDAL_NUM_THREADS").unwrap();
    assert!(co.contains(&("NUM_THREADS".to_string(), "3".to_string())));
}

#[test]
fn cog_is_recognised_as_cog() {
    let d = tempfile::tempdir().unwrap();
    let src_path = d.path().join("src.tif");
    let s = spec(1100, 700, 2, SampleType::I16);
    write_pattern::<i16>(&src_path, &s, 512, &[]);
    let src = open(&src_path).unwrap();
    let cog = d.path().join("cog.tif");
    write_cog(&src, &cog, false, &[]).unwrap();

    let info = gdalinfo(&cog);
    assert!(info.contains("LAYOUT=COG"), "{info}");
    assert!(info.contains("COMPRESSION=DEFLATE"), "{info}");
    assert!(info.contains("Block=512x512"), "{info}");
    assert!(info.contains("Overviews: 550x350"), "{info}");
    let ds = open(&cog).unwrap();
    assert_eq!(spec_like(&ds).unwrap(), s);
    let got: Vec<i16> = read_rows(
        &ds,
        2,
        Window {
            row: 600,
            rows: 100,
        },
    )
    .unwrap();
    assert_eq!(got[1100 + 7], value::<i16>(2, 601, 7));

    // Refused without overwrite, replaced with it, nothing left beside it.
    let e = write_cog(&src, &cog, false, &[]).unwrap_err();
    assert_eq!(e.exit_code(), 5);
    write_cog(
        &src,
        &cog,
        true,
        &[("COMPRESS".to_string(), "ZSTD".to_string())],
    )
    .unwrap();
    assert!(gdalinfo(&cog).contains("COMPRESSION=ZSTD"));
    let mut names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["cog.tif", "src.tif"]);
}

#[test]
fn cog_into_an_unwritable_folder_is_an_output_error() {
    let driver = DriverManager::get_driver_by_name("MEM").unwrap();
    let src = driver.create_with_band_type::<u8, _>("", 8, 8, 1).unwrap();
    let d = tempfile::tempdir().unwrap();
    let not_dir = d.path().join("file.txt");
    std::fs::write(&not_dir, b"x").unwrap();
    let e = write_cog(&src, &not_dir.join("c.tif"), false, &[]).unwrap_err();
    assert_eq!(e.exit_code(), 5);
    assert!(e.to_string().contains("file.txt"), "{e}");
}

#[test]
fn missing_file_is_bad_input() {
    let e = open(Path::new("/nonexistent/dir/x.tif")).unwrap_err();
    assert_eq!(e.exit_code(), 3);
    assert_eq!(e.to_string(), "/nonexistent/dir/x.tif: no such file");
    let e = open(Path::new("/vsimem/vip-missing.tif")).unwrap_err();
    assert_eq!(e.exit_code(), 3);
}

#[test]
fn non_raster_is_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("notes.tif");
    std::fs::write(&p, "not a raster\n").unwrap();
    let e = open(&p).unwrap_err();
    assert_eq!(e.exit_code(), 3);
    assert_eq!(
        e.to_string(),
        format!("{}: not a raster GDAL can read", p.display())
    );
}

/// Opens `path` and reads every pixel of every band.
fn read_everything(path: &Path) -> crate::Result<()> {
    let ds = open(path)?;
    let (w, h) = ds.raster_size();
    for b in 1..=ds.raster_count() {
        for win in Strips::new(h, 64) {
            read_window::<u16>(&ds, b, (0, win.row), (w, win.rows))?;
        }
    }
    Ok(())
}

fn truncate_half(path: &Path) {
    let len = std::fs::metadata(path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len / 2).unwrap();
}

fn assert_truncated_is_bad_input(path: &Path) {
    read_everything(path).unwrap();
    truncate_half(path);
    let e = read_everything(path).unwrap_err();
    assert_eq!(e.exit_code(), 3, "{e}");
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("{}: ", path.display())), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn truncated_geotiff_is_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t.tif");
    write_pattern::<u16>(&path, &spec(512, 512, 2, SampleType::U16), 512, &[]);
    assert_truncated_is_bad_input(&path);
}

#[test]
fn truncated_cog_is_bad_input_when_reading_pixels() {
    // A COG has its header first: GDAL opens the cut file and fails on the pixels.
    let d = tempfile::tempdir().unwrap();
    let src_path = d.path().join("s.tif");
    write_pattern::<u16>(&src_path, &spec(512, 512, 2, SampleType::U16), 512, &[]);
    let cog = d.path().join("c.tif");
    write_cog(&open(&src_path).unwrap(), &cog, false, &[]).unwrap();
    truncate_half(&cog);
    let ds = open(&cog).expect("the header survives");
    let e = read_window::<u16>(&ds, 2, (0, 0), (512, 512)).unwrap_err();
    assert_eq!(e.exit_code(), 3);
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("{}: band 2", cog.display())),
        "{msg}"
    );
    assert!(msg.contains("truncated or corrupt"), "{msg}");
}

#[test]
fn vsimem_rasters_round_trip() {
    let path = Path::new("/vsimem/vip-raster-test.tif");
    let s = spec(20, 10, 1, SampleType::F32);
    let mut ds = create_geotiff(path, &s, &[]).unwrap();
    write_window(&mut ds, 1, (0, 0), (20, 10), &[1.5f32; 200]).unwrap();
    finish(ds, path).unwrap();
    let ds: Dataset = open(path).unwrap();
    assert_eq!(read_window::<f32>(&ds, 1, (19, 9), (1, 1)).unwrap(), [1.5]);
    drop(ds);
    gdal::vsi::unlink_mem_file(path).unwrap();
}

#[test]
fn same_bytes_with_one_or_many_compression_threads() {
    let d = tempfile::tempdir().unwrap();
    let s = spec(1300, 1100, 2, SampleType::U16);
    let mut files = Vec::new();
    for threads in ["1", "4"] {
        let path = d.path().join(format!("t{threads}.tif"));
        let co = [("NUM_THREADS".to_string(), threads.to_string())];
        write_pattern::<u16>(&path, &s, 512, &co);
        files.push(std::fs::read(&path).unwrap());
    }
    assert!(files[0] == files[1], "outputs differ between thread counts");
    let d2 = tempfile::tempdir().unwrap();
    let src = open(&d.path().join("t1.tif")).unwrap();
    let mut cogs = Vec::new();
    for threads in ["1", "4"] {
        let path = d2.path().join(format!("c{threads}.tif"));
        let co = [("NUM_THREADS".to_string(), threads.to_string())];
        write_cog(&src, &path, false, &co).unwrap();
        cogs.push(std::fs::read(&path).unwrap());
    }
    assert!(cogs[0] == cogs[1], "COGs differ between thread counts");
}
