//! Rasters of distribution packages: one band of a product image copied into its own file
//! (tiled DEFLATE GeoTIFF or COG), a mask computed from several bands, and the JPEG quicklook.

use std::path::Path;

use gdal::raster::{RasterCreationOptions, ResampleAlg};
use gdal::{Dataset, DriverManager, Metadata};

use super::create::{cog_defaults, merge_options, srs_wkt, RasterSpec, SampleType};
use super::io::{finish, gdal_message, open, read_rows, with_detail, write_window};
use super::strips::Strips;
use crate::error::{Result, VipError};

/// How a distribution raster is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Tiled GeoTIFF (256 × 256), DEFLATE with predictor.
    GeoTiff,
    /// Cloud Optimized GeoTIFF: GDAL's COG driver, DEFLATE, overviews.
    Cog,
}

/// Default creation options of distribution GeoTIFFs: what MUSCATE ships (DEFLATE), tiled.
pub fn distribution_defaults() -> Vec<(String, String)> {
    let mut co: Vec<(String, String)> = [
        ("TILED", "YES"),
        ("BLOCKXSIZE", "256"),
        ("BLOCKYSIZE", "256"),
        ("COMPRESS", "DEFLATE"),
        ("PREDICTOR", "2"),
        ("BIGTIFF", "IF_SAFER"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    co.extend(super::create::num_threads());
    co
}

/// What one band of a distribution file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct BandCopy {
    /// 1-based band of the source.
    pub band: usize,
    /// Sample type written (the source values are converted, e.g. int16 bit fields to uint16).
    pub data_type: SampleType,
    pub nodata: Option<f64>,
    pub scale: Option<f64>,
    pub description: String,
}

fn gdal_type_name(t: SampleType) -> &'static str {
    match t {
        SampleType::U8 => "Byte",
        SampleType::I16 => "Int16",
        SampleType::U16 => "UInt16",
        SampleType::F32 => "Float32",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A VRT (XML text) exposing band `what.band` of `src` as a single-band dataset.
fn band_vrt(src: &Path, ds: &Dataset, what: &BandCopy) -> Result<String> {
    let (w, h) = ds.raster_size();
    let gt = super::create::geo_transform(ds)?;
    let gt: Vec<String> = gt.iter().map(|v| format!("{v:.17e}")).collect();
    let mut band = format!(
        "<VRTRasterBand dataType=\"{}\" band=\"1\">",
        gdal_type_name(what.data_type)
    );
    if let Some(n) = what.nodata {
        band.push_str(&format!("<NoDataValue>{n}</NoDataValue>"));
    }
    if let Some(s) = what.scale {
        band.push_str(&format!("<Offset>0</Offset><Scale>{s}</Scale>"));
    }
    band.push_str(&format!(
        "<Description>{}</Description><SimpleSource><SourceFilename relativeToVRT=\"0\">{}</SourceFilename><SourceBand>{}</SourceBand></SimpleSource></VRTRasterBand>",
        xml_escape(&what.description),
        xml_escape(&src.to_string_lossy()),
        what.band
    ));
    Ok(format!(
        "<VRTDataset rasterXSize=\"{w}\" rasterYSize=\"{h}\"><SRS>{}</SRS><GeoTransform>{}</GeoTransform>{band}</VRTDataset>",
        xml_escape(&srs_wkt(ds)),
        gt.join(",")
    ))
}

fn copy_with(
    src_ds: &Dataset,
    dst: &Path,
    layout: Layout,
    creation_options: &[(String, String)],
) -> Result<()> {
    let (driver_name, defaults) = match layout {
        Layout::GeoTiff => ("GTiff", distribution_defaults()),
        Layout::Cog => ("COG", cog_defaults()),
    };
    let co = merge_options(&defaults, creation_options);
    let mut csl = RasterCreationOptions::new();
    for (k, v) in &co {
        csl.set_name_value(k, v)
            .map_err(|e| VipError::Usage(format!("{}: --co {k}={v}: {e}", dst.display())))?;
    }
    let out_err = |e: gdal::errors::GdalError| {
        VipError::output(dst, with_detail("cannot write", &gdal_message(&e, dst)))
    };
    let driver = DriverManager::get_driver_by_name(driver_name).map_err(out_err)?;
    let ds = src_ds.create_copy(&driver, dst, &csl).map_err(out_err)?;
    finish(ds, dst)
}

/// Splits the multi-band raster `src` into one uncompressed tiled GeoTIFF per band,
/// `dir/band<n>.tif` (same sample type and georeferencing), reading `src` once, strip by strip
/// within `ram_bytes`; returns their paths, band 1 first.
///
/// A pixel-interleaved compressed image decompresses every band to read any one of them:
/// copying its bands one by one from the split files instead decompresses it once, not once
/// per band.
pub fn split_bands(src: &Path, dir: &Path, ram_bytes: u64) -> Result<Vec<std::path::PathBuf>> {
    fn split<T: gdal::raster::GdalType + Copy + Default>(
        ds: &Dataset,
        spec: &RasterSpec,
        outs: &mut [Dataset],
        ram_bytes: u64,
    ) -> Result<()> {
        let per_col = 2 * spec.bands * spec.data_type.size();
        for win in Strips::for_budget(spec.height, spec.width, ram_bytes, per_col) {
            for (b, out) in outs.iter_mut().enumerate() {
                let v: Vec<T> = read_rows(ds, b + 1, win)?;
                write_window(out, 1, (0, win.row), (spec.width, win.rows), &v)?;
            }
        }
        Ok(())
    }
    let ds = open(src)?;
    let full = super::create::spec_like(&ds)?;
    let spec = RasterSpec {
        bands: 1,
        band_descriptions: Vec::new(),
        ..full.clone()
    };
    let co: Vec<(String, String)> = [("COMPRESS", "NONE"), ("PREDICTOR", "1")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let paths: Vec<_> = (1..=full.bands)
        .map(|b| dir.join(format!("band{b}.tif")))
        .collect();
    let mut outs = paths
        .iter()
        .map(|p| super::create::create_geotiff(p, &spec, &co))
        .collect::<Result<Vec<_>>>()?;
    match full.data_type {
        SampleType::I16 => split::<i16>(&ds, &full, &mut outs, ram_bytes)?,
        SampleType::U16 => split::<u16>(&ds, &full, &mut outs, ram_bytes)?,
        SampleType::U8 => split::<u8>(&ds, &full, &mut outs, ram_bytes)?,
        SampleType::F32 => split::<f32>(&ds, &full, &mut outs, ram_bytes)?,
    }
    for (out, p) in outs.into_iter().zip(&paths) {
        finish(out, p)?;
    }
    Ok(paths)
}

/// Copies one band of the raster `src` into the new single-band file `dst`.
pub fn copy_band(
    src: &Path,
    what: &BandCopy,
    dst: &Path,
    layout: Layout,
    creation_options: &[(String, String)],
) -> Result<()> {
    let ds = open(src)?;
    if what.band == 0 || what.band > ds.raster_count() {
        return Err(VipError::bad_input(
            src,
            format!("has {} bands, not band {}", ds.raster_count(), what.band),
        ));
    }
    let vrt = band_vrt(src, &ds, what)?;
    let v = Dataset::open(Path::new(&vrt))
        .map_err(|e| VipError::Internal(format!("band VRT of {}: {e}", src.display())))?;
    copy_with(&v, dst, layout, creation_options)
}

/// Writes the byte mask `dst` computed strip by strip from `inputs`, (raster, 1-based band)
/// pairs of rasters of one size, each read as int16 (uint16 bit fields keep their bits):
/// `f(strip_of_each_input, out)` fills `out` (one value per pixel). The georeferencing is the
/// first input's; the file is written with `layout` and `creation_options` over its defaults.
pub fn derive_mask(
    inputs: &[(std::path::PathBuf, usize)],
    dst: &Path,
    (layout, creation_options): (Layout, &[(String, String)]),
    ram_bytes: u64,
    description: &str,
    f: impl Fn(&[Vec<i16>], &mut [u8]),
) -> Result<()> {
    derive_band(
        inputs,
        dst,
        (layout, creation_options),
        ram_bytes,
        (description, None),
        f,
    )
}

/// [`derive_mask`] for a band of any sample type `T` (a computed int16 band, a copied byte
/// band), with the band's description and no-data value (`what`).
pub fn derive_band<T: gdal::raster::GdalType + Copy + Default>(
    inputs: &[(std::path::PathBuf, usize)],
    dst: &Path,
    (layout, creation_options): (Layout, &[(String, String)]),
    ram_bytes: u64,
    (description, nodata): (&str, Option<f64>),
    f: impl Fn(&[Vec<i16>], &mut [T]),
) -> Result<()> {
    let Some((first, _)) = inputs.first() else {
        return Err(VipError::Internal(format!(
            "{}: a mask needs at least one input",
            dst.display()
        )));
    };
    let sources = inputs
        .iter()
        .map(|(p, _)| open(p))
        .collect::<Result<Vec<_>>>()?;
    let ds = &sources[0];
    let (w, h) = ds.raster_size();
    for ((p, b), s) in inputs.iter().zip(&sources) {
        if s.raster_size() != (w, h) {
            let (sw, sh) = s.raster_size();
            return Err(VipError::bad_input(
                p,
                format!("is {sw} × {sh} pixels, {} is {w} × {h}", first.display()),
            ));
        }
        if *b == 0 || *b > s.raster_count() {
            return Err(VipError::bad_input(
                p,
                format!("has {} bands, not band {b}", s.raster_count()),
            ));
        }
    }
    let geo_transform = super::create::geo_transform(ds)?;
    let wkt = srs_wkt(ds);
    let mem_err = |e: gdal::errors::GdalError| VipError::Internal(format!("in-memory band: {e}"));
    // Built in memory, then copied with the distribution layout (a COG needs a source).
    let mem = DriverManager::get_driver_by_name("MEM")
        .map_err(|e| VipError::Internal(format!("GDAL MEM driver: {e}")))?;
    let mut m = mem
        .create_with_band_type::<T, _>("", w, h, 1)
        .map_err(mem_err)?;
    m.set_geo_transform(&geo_transform).map_err(mem_err)?;
    if !wkt.is_empty() {
        m.set_projection(&wkt).map_err(mem_err)?;
    }
    {
        let mut band = m.rasterband(1).map_err(mem_err)?;
        band.set_description(description).map_err(mem_err)?;
        if let Some(n) = nodata {
            band.set_no_data_value(Some(n)).map_err(mem_err)?;
        }
    }
    let per_row = 2 * inputs.len() + std::mem::size_of::<T>();
    for win in Strips::for_budget(h, w, ram_bytes / 2, per_row) {
        let strips = inputs
            .iter()
            .zip(&sources)
            .map(|((_, b), s)| read_rows::<i16>(s, *b, win))
            .collect::<Result<Vec<_>>>()?;
        let mut out = vec![T::default(); w * win.rows];
        f(&strips, &mut out);
        write_window(&mut m, 1, (0, win.row), (w, win.rows), &out)?;
    }
    copy_with(&m, dst, layout, creation_options)
}

/// Copies the whole raster `src` (every band, its type, nodata and descriptions) into `dst`.
pub fn copy_raster(
    src: &Path,
    dst: &Path,
    layout: Layout,
    creation_options: &[(String, String)],
) -> Result<()> {
    copy_with(&open(src)?, dst, layout, creation_options)
}

/// Writes the RGB JPEG quicklook `dst` from bands `rgb` (1-based) of `src`: each band averaged
/// down so that the longer side is at most `max_side` pixels, then `lo..hi` (source values)
/// stretched linearly to 1..255; `nodata` pixels are black.
pub fn quicklook_jpeg(
    src: &Path,
    rgb: [usize; 3],
    dst: &Path,
    max_side: usize,
    (lo, hi): (f64, f64),
    nodata: Option<f64>,
) -> Result<()> {
    let ds = open(src)?;
    let (w, h) = ds.raster_size();
    let factor = w.max(h).div_ceil(max_side.max(1)).max(1);
    let (qw, qh) = (w.div_ceil(factor), h.div_ceil(factor));
    let mem = DriverManager::get_driver_by_name("MEM")
        .map_err(|e| VipError::Internal(format!("GDAL MEM driver: {e}")))?;
    let mut m = mem
        .create_with_band_type::<u8, _>("", qw, qh, 3)
        .map_err(|e| VipError::Internal(format!("in-memory quicklook: {e}")))?;
    for (i, &b) in rgb.iter().enumerate() {
        let band = ds.rasterband(b).map_err(|e| {
            VipError::bad_input(src, with_detail("cannot read", &gdal_message(&e, src)))
        })?;
        let buf = band
            .read_as::<f64>((0, 0), (w, h), (qw, qh), Some(ResampleAlg::Average))
            .map_err(|e| {
                VipError::bad_input(src, with_detail("cannot read", &gdal_message(&e, src)))
            })?;
        let out: Vec<u8> = buf
            .data()
            .iter()
            .map(|&v| {
                if nodata.is_some_and(|n| v == n) || v.is_nan() {
                    0
                } else {
                    (1.0 + 254.0 * ((v - lo) / (hi - lo)).clamp(0.0, 1.0)).round() as u8
                }
            })
            .collect();
        write_window(&mut m, i + 1, (0, 0), (qw, qh), &out)?;
    }
    let out_err = |e: gdal::errors::GdalError| {
        VipError::output(dst, with_detail("cannot write", &gdal_message(&e, dst)))
    };
    let driver = DriverManager::get_driver_by_name("JPEG").map_err(out_err)?;
    let mut csl = RasterCreationOptions::new();
    for (k, v) in [("QUALITY", "90"), ("WORLDFILE", "NO")] {
        csl.set_name_value(k, v).map_err(out_err)?;
    }
    let j = m.create_copy(&driver, dst, &csl).map_err(out_err)?;
    finish(j, dst)
}
