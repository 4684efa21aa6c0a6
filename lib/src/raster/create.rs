//! Creating tiled, compressed GeoTIFFs and Cloud Optimized GeoTIFFs, and reading back the
//! georeferencing and layout of a raster.

use std::path::Path;

use gdal::raster::{GdalDataType, GdalType, RasterCreationOptions};
use gdal::{Dataset, DriverManager, Metadata};

use super::io::{dataset_path, finish, gdal_message, with_detail};
use super::staged::Staged;
use crate::error::{Result, VipError};

/// Sample types VIP writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleType {
    /// Signed 16-bit integers (scaled reflectances).
    I16,
    /// Unsigned 16-bit integers (raw counts).
    U16,
    /// Unsigned 8-bit integers (masks).
    U8,
    /// 32-bit floats (physical quantities, DEM).
    F32,
}

impl SampleType {
    /// The sample type of the Rust type `T`, if VIP writes it.
    pub fn of<T: GdalType>() -> Option<SampleType> {
        SampleType::from_gdal(T::datatype())
    }

    /// The sample type of a GDAL data type, if VIP writes it.
    pub fn from_gdal(t: GdalDataType) -> Option<SampleType> {
        match t {
            GdalDataType::Int16 => Some(SampleType::I16),
            GdalDataType::UInt16 => Some(SampleType::U16),
            GdalDataType::UInt8 => Some(SampleType::U8),
            GdalDataType::Float32 => Some(SampleType::F32),
            _ => None,
        }
    }

    /// The GDAL data type.
    pub fn gdal(self) -> GdalDataType {
        match self {
            SampleType::I16 => GdalDataType::Int16,
            SampleType::U16 => GdalDataType::UInt16,
            SampleType::U8 => GdalDataType::UInt8,
            SampleType::F32 => GdalDataType::Float32,
        }
    }

    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            SampleType::U8 => 1,
            SampleType::I16 | SampleType::U16 => 2,
            SampleType::F32 => 4,
        }
    }

    /// Whether samples are integers.
    pub fn is_integer(self) -> bool {
        self != SampleType::F32
    }
}

/// Everything needed to create a raster: size, bands, sample type, georeferencing and the
/// per-band nodata, scale, offset and descriptions.
#[derive(Debug, Clone, PartialEq)]
pub struct RasterSpec {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Number of bands.
    pub bands: usize,
    /// Sample type of every band.
    pub data_type: SampleType,
    /// GDAL geotransform: origin x, pixel width, row rotation, origin y, column rotation,
    /// pixel height (negative for north-up).
    pub geo_transform: [f64; 6],
    /// Coordinate reference system as WKT; empty for none (see [`srs_wkt_from_epsg`]).
    pub srs_wkt: String,
    /// Nodata value set on every band.
    pub nodata: Option<f64>,
    /// Scale set on every band (physical = raw * scale + offset).
    pub scale: Option<f64>,
    /// Offset set on every band.
    pub offset: Option<f64>,
    /// Band descriptions, one per band (or empty for none).
    pub band_descriptions: Vec<String>,
}

impl RasterSpec {
    /// A spec of `bands` bands of `data_type`, `width` × `height`, with no georeferencing,
    /// nodata, scale, offset or descriptions.
    pub fn new(width: usize, height: usize, bands: usize, data_type: SampleType) -> Self {
        RasterSpec {
            width,
            height,
            bands,
            data_type,
            geo_transform: [0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            srs_wkt: String::new(),
            nodata: None,
            scale: None,
            offset: None,
            band_descriptions: Vec::new(),
        }
    }
}

/// The WKT of the coordinate reference system with EPSG code `code`.
pub fn srs_wkt_from_epsg(code: u32) -> Result<String> {
    gdal::spatial_ref::SpatialRef::from_epsg(code)
        .and_then(|s| s.to_wkt())
        .map_err(|e| VipError::Processing(format!("EPSG:{code}: unknown coordinate system ({e})")))
}

/// The geotransform of a dataset; a raster without one is a bad input naming the file.
pub fn geo_transform(ds: &Dataset) -> Result<[f64; 6]> {
    ds.geo_transform()
        .map_err(|_| VipError::bad_input(dataset_path(ds), "has no georeferencing"))
}

/// The coordinate reference system of a dataset as WKT (empty when it has none).
pub fn srs_wkt(ds: &Dataset) -> String {
    ds.projection()
}

/// The EPSG code of a dataset's coordinate reference system, when it has one.
pub fn epsg(ds: &Dataset) -> Option<u32> {
    let wkt = ds.projection();
    let srs = gdal::spatial_ref::SpatialRef::from_wkt(&wkt).ok()?;
    srs.auth_code().ok().and_then(|c| u32::try_from(c).ok())
}

/// Whether a dataset's coordinate reference system, when it has one, is projected in metres
/// (`None` when it has none).
pub fn projected_in_metres(ds: &Dataset) -> Option<bool> {
    let wkt = ds.projection();
    if wkt.is_empty() {
        return None;
    }
    let srs = gdal::spatial_ref::SpatialRef::from_wkt(&wkt).ok()?;
    Some(srs.is_projected() && (srs.linear_units() - 1.0).abs() < 1e-9)
}

/// The spec of an existing raster (band 1 gives the type, nodata, scale and offset), to create
/// another one like it.
pub fn spec_like(ds: &Dataset) -> Result<RasterSpec> {
    let path = dataset_path(ds);
    let (width, height) = ds.raster_size();
    let b1 = ds
        .rasterband(1)
        .map_err(|e| VipError::bad_input(&path, gdal_message(&e, &path)))?;
    let data_type = SampleType::from_gdal(b1.band_type()).ok_or_else(|| {
        VipError::bad_input(
            &path,
            format!("sample type {} is not one VIP handles", b1.band_type()),
        )
    })?;
    let mut band_descriptions = Vec::new();
    for i in 1..=ds.raster_count() {
        let b = ds
            .rasterband(i)
            .map_err(|e| VipError::bad_input(&path, gdal_message(&e, &path)))?;
        band_descriptions.push(b.description().unwrap_or_default());
    }
    if band_descriptions.iter().all(String::is_empty) {
        band_descriptions.clear();
    }
    Ok(RasterSpec {
        width,
        height,
        bands: ds.raster_count(),
        data_type,
        geo_transform: ds.geo_transform().unwrap_or([0.0, 1.0, 0.0, 0.0, 0.0, 1.0]),
        srs_wkt: ds.projection(),
        nodata: b1.no_data_value(),
        scale: b1.scale(),
        offset: b1.offset(),
        band_descriptions,
    })
}

/// Default GeoTIFF creation options for `data_type`: 256 × 256 tiles, ZSTD level 1, horizontal
/// predictor for integers, `NUM_THREADS` from [`set_write_threads`] (or the `GDAL_NUM_THREADS`
/// configuration option), BigTIFF when the file could exceed 4 GB.
///
/// Floats get no predictor: the floating-point one (`PREDICTOR=3`) saves a fifth of the bytes
/// of a stray-light-corrected band but costs 1.7 times the time to decode it and 1.5 times to
/// encode it (libtiff's byte shuffle). The large float rasters are intermediates (vip-straylight's
/// counts, read once by vip-l1) and vip-sim's truth layers; `--co PREDICTOR=3` asks for it.
pub fn geotiff_defaults(data_type: SampleType) -> Vec<(String, String)> {
    let mut co = vec![
        kv("TILED", "YES"),
        kv("BLOCKXSIZE", "256"),
        kv("BLOCKYSIZE", "256"),
        kv("COMPRESS", "ZSTD"),
        kv("ZSTD_LEVEL", "1"),
        kv("PREDICTOR", if data_type.is_integer() { "2" } else { "1" }),
        kv("BIGTIFF", "IF_SAFER"),
    ];
    co.extend(num_threads());
    co
}

/// Default COG creation options: DEFLATE with predictor, 512 × 512 tiles, overviews as needed.
pub fn cog_defaults() -> Vec<(String, String)> {
    let mut co = vec![
        kv("COMPRESS", "DEFLATE"),
        kv("PREDICTOR", "YES"),
        kv("BLOCKSIZE", "512"),
        kv("OVERVIEWS", "AUTO"),
        kv("BIGTIFF", "IF_SAFER"),
    ];
    co.extend(num_threads());
    co
}

/// `defaults` with each key of `overrides` replaced (keys compare case-insensitively) or added.
pub fn merge_options(
    defaults: &[(String, String)],
    overrides: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out = defaults.to_vec();
    for (k, v) in overrides {
        match out.iter_mut().find(|(dk, _)| dk.eq_ignore_ascii_case(k)) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    // A compression level means nothing to another codec; GDAL would warn about it.
    let compress = out
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("COMPRESS"))
        .map(|(_, v)| v.to_ascii_uppercase());
    if compress.as_deref() != Some("ZSTD") && !overrides_has(overrides, "ZSTD_LEVEL") {
        out.retain(|(k, _)| !k.eq_ignore_ascii_case("ZSTD_LEVEL"));
    }
    out
}

/// Creates a tiled, compressed GeoTIFF at `path` (usually a [`Staged`] path) as `spec` says:
/// [`geotiff_defaults`] overridden key by key by `creation_options`; georeferencing, nodata,
/// scale, offset and descriptions set on every band. Close it with [`finish`].
pub fn create_geotiff(
    path: &Path,
    spec: &RasterSpec,
    creation_options: &[(String, String)],
) -> Result<Dataset> {
    if !spec.band_descriptions.is_empty() && spec.band_descriptions.len() != spec.bands {
        return Err(VipError::Internal(format!(
            "{} band descriptions for {} bands",
            spec.band_descriptions.len(),
            spec.bands
        )));
    }
    let co = merge_options(&geotiff_defaults(spec.data_type), creation_options);
    let co = to_csl(&co, path)?;
    let out_err = |e: gdal::errors::GdalError| {
        VipError::output(path, with_detail("cannot create", &gdal_message(&e, path)))
    };
    let driver = DriverManager::get_driver_by_name("GTiff").map_err(out_err)?;
    let (w, h, n) = (spec.width, spec.height, spec.bands);
    let mut ds = match spec.data_type {
        SampleType::I16 => driver.create_with_band_type_with_options::<i16, _>(path, w, h, n, &co),
        SampleType::U16 => driver.create_with_band_type_with_options::<u16, _>(path, w, h, n, &co),
        SampleType::U8 => driver.create_with_band_type_with_options::<u8, _>(path, w, h, n, &co),
        SampleType::F32 => driver.create_with_band_type_with_options::<f32, _>(path, w, h, n, &co),
    }
    .map_err(out_err)?;
    ds.set_geo_transform(&spec.geo_transform).map_err(out_err)?;
    if !spec.srs_wkt.is_empty() {
        ds.set_projection(&spec.srs_wkt).map_err(out_err)?;
    }
    for i in 1..=n {
        let mut b = ds.rasterband(i).map_err(out_err)?;
        b.set_no_data_value(spec.nodata).map_err(out_err)?;
        if let Some(s) = spec.scale {
            b.set_scale(s).map_err(out_err)?;
        }
        if let Some(o) = spec.offset {
            b.set_offset(o).map_err(out_err)?;
        }
        if let Some(d) = spec.band_descriptions.get(i - 1) {
            b.set_description(d).map_err(out_err)?;
        }
    }
    Ok(ds)
}

/// Writes `src` as a Cloud Optimized GeoTIFF at `dst` with GDAL's COG driver
/// ([`cog_defaults`] overridden key by key by `creation_options`), built under a temporary
/// name and renamed into place. An existing `dst` is refused unless `overwrite`.
pub fn write_cog(
    src: &Dataset,
    dst: &Path,
    overwrite: bool,
    creation_options: &[(String, String)],
) -> Result<()> {
    let staged = Staged::file(dst, overwrite)?;
    let co = to_csl(&merge_options(&cog_defaults(), creation_options), dst)?;
    let out_err = |e: gdal::errors::GdalError| {
        VipError::output(
            dst,
            with_detail("cannot write COG", &gdal_message(&e, staged.path())),
        )
    };
    let driver = DriverManager::get_driver_by_name("COG").map_err(out_err)?;
    let ds = src
        .create_copy(&driver, staged.path(), &co)
        .map_err(out_err)?;
    finish(ds, dst)?;
    staged.commit()?;
    Ok(())
}

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn overrides_has(overrides: &[(String, String)], key: &str) -> bool {
    overrides.iter().any(|(k, _)| k.eq_ignore_ascii_case(key))
}

/// Threads GDAL compresses written rasters with (0: not set).
static WRITE_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets the threads GDAL compresses the rasters we write with (creation option NUM_THREADS);
/// the `GDAL_NUM_THREADS` configuration option, when set, wins.
pub fn set_write_threads(n: usize) {
    WRITE_THREADS.store(n, std::sync::atomic::Ordering::Relaxed);
}

pub(super) fn num_threads() -> Option<(String, String)> {
    gdal::config::get_config_option("GDAL_NUM_THREADS", "")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| {
            let n = WRITE_THREADS.load(std::sync::atomic::Ordering::Relaxed);
            (n > 0).then(|| n.to_string())
        })
        .map(|v| kv("NUM_THREADS", &v))
}

fn to_csl(options: &[(String, String)], path: &Path) -> Result<RasterCreationOptions> {
    let mut csl = RasterCreationOptions::new();
    for (k, v) in options {
        csl.set_name_value(k, v)
            .map_err(|e| VipError::Usage(format!("{}: --co {k}={v}: {e}", path.display())))?;
    }
    Ok(csl)
}
