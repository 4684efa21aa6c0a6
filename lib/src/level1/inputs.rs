//! Everything one L1A → L1C run reads, loaded and checked before any pixel is written: the raw
//! product (header, band images of the announced size), the GIPPs of its site, date and TDI
//! configurations (calibration, viewing directions, REFLEC, CLOUDD, CKQLTL), and the DEM. Every problem is a bad-input error naming the file.

use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::EarthSun;
use crate::cloud::stereo::StereoParams;
use crate::ee::auxdata;
use crate::ee::cloudd::{self, Ckqltl};
use crate::ee::eordta::{self, EopTable};
use crate::ee::gipp::{GippCatalogue, GippEntry, GippQuery};
use crate::ee::gipps;
use crate::ee::refimg::{self, RefImg};
use crate::error::{Result, VipError};
use crate::geometry::dem::Dem;
use crate::geometry::earth::{ecef_to_geodetic, Mat3};
use crate::geometry::lonlat::MapToLonLat;
use crate::geometry::orbit::{Attitude, Ephemeris};
use crate::geometry::orbital::{Flight, OrbitalBand, OrbitalModel};
use crate::geometry::sensor::{BandModel, Datation};
use crate::mission::venus;
use crate::product::L1a;
use crate::radiometry::BandCalibration;
use crate::raster;

/// The calibration and viewing directions of one band.
pub struct BandInputs {
    pub calibration: BandCalibration,
    pub view_dirs: Vec<(f64, f64)>,
    /// The array's rotation to the spacecraft frame (SENGEO).
    pub array_to_body: Mat3,
}

/// The loaded inputs of one run.
pub struct Inputs {
    pub product: L1a,
    /// Folder holding the L1A header.
    pub dir: PathBuf,
    pub bands: Vec<BandInputs>,
    /// The satellite's flight: ephemeris, attitude, Earth orientation.
    pub flight: Flight,
    /// The auxiliary files read, as (File_Type, logical id).
    pub auxiliary_used: Vec<(String, String)>,
    /// The site's geometric reference image, if the auxiliary folder holds one.
    pub refimg: Option<RefImg>,
    /// GIPPs used, as (File_Type, logical id), in the order they were looked up.
    pub gipps_used: Vec<(String, String)>,
    /// Earth–Sun distance model (REFLEC).
    pub earth_sun: EarthSun,
    /// Stereo cloud detection parameters (CLOUDD).
    pub stereo: StereoParams,
    /// Quicklook parameters (CKQLTL) and the file they come from.
    pub quicklook: (Ckqltl, PathBuf),
    pub dem: Dem,
    pub dem_path: PathBuf,
    /// EPSG code of the DEM, which is the CRS of the output grid.
    pub epsg: u32,
}

impl Inputs {
    /// Loads and checks the inputs of one run; the auxiliary data files are looked for in
    /// `aux` (by default the L1A's folder).
    pub fn load(l1a: &Path, gipp: &Path, dem: &Path, aux: Option<&Path>) -> Result<Inputs> {
        let product = L1a::open(l1a)?;
        let dir = l1a.parent().unwrap_or(Path::new(".")).to_path_buf();
        if product.bands.len() != venus::BANDS.len() {
            return Err(VipError::bad_input(
                l1a,
                format!("{} bands, VENµS has 12", product.bands.len()),
            ));
        }
        for band in &product.bands {
            let path = product.band_image_path(&dir, &band.code);
            let ds = raster::open(&path)?;
            let (cols, lines) = ds.raster_size();
            if (cols, lines) != (band.cols, band.lines) {
                return Err(VipError::bad_input(
                    &path,
                    format!(
                        "image is {cols} × {lines}, the header says {} × {}",
                        band.cols, band.lines
                    ),
                ));
            }
            if product.geometry.first_detector + band.cols > venus::DETECTORS {
                return Err(VipError::bad_input(
                    l1a,
                    format!("band {} extends past detector 5200", band.code),
                ));
            }
        }
        let catalogue = GippCatalogue::scan(gipp)?;
        let mut used = Vec::new();
        let mut find = |file_type: &'static str, band: Option<&str>, tdi: Option<u8>| {
            let entry: &GippEntry = catalogue.select(&GippQuery {
                file_type,
                site: &product.nick,
                when: product.acquisition,
                band,
                tdi,
            })?;
            used.push((file_type.to_string(), entry.id.clone()));
            Ok::<PathBuf, VipError>(entry.path.clone())
        };
        let phgain = gipps::read_phgain(&find("GIP_PHGAIN", None, None)?)?;
        let earth_sun = EarthSun::read(&find("GIP_REFLEC", None, None)?)?;
        let stereo = StereoParams::read(&find("GIP_CLOUDD", None, None)?)?;
        let ckqltl = find("GIP_CKQLTL", None, None)?;
        let quicklook = (cloudd::read_ckqltl(&ckqltl)?, ckqltl);
        let sengeo_path = find("GIP_SENGEO", None, None)?;
        let sengeo = gipps::read_sengeo(&sengeo_path)?;
        let mut bands = Vec::new();
        for band in &product.bands {
            let (code, tdi) = (Some(band.code.as_str()), Some(band.tdi));
            let dark = gipps::read_darkcu(&find("GIP_DARKCU", code, tdi)?)?;
            let relsen = gipps::read_relsen(&find("GIP_RELSEN", code, tdi)?)?;
            let viedir = gipps::read_viedir(&find("GIP_VIEDIR", code, tdi)?)?;
            let outord = gipps::read_outord(&find("GIP_OUTORD", code, None)?)?;
            let gain = phgain.gain(&band.code, band.tdi).ok_or_else(|| {
                VipError::bad_input(
                    gipp,
                    format!(
                        "GIP_PHGAIN has no gain for {} with TDI {:02}",
                        band.code, band.tdi
                    ),
                )
            })?;
            bands.push(BandInputs {
                calibration: BandCalibration::new(gain, &dark, &relsen, &outord, band.tdi)?,
                view_dirs: viedir.values.iter().map(|v| (v[0], v[1])).collect(),
                array_to_body: sengeo.array_to_body(&band.code).ok_or_else(|| {
                    VipError::bad_input(&sengeo_path, format!("no array of band {}", band.code))
                })?,
            });
        }
        let aux = aux.unwrap_or(&dir);
        let (flight, auxiliary_used) = read_flight(&product, l1a, aux)?;
        let refimg = refimg::find_refimg(aux, &product.nick)?;
        let (dem_grid, epsg) = Dem::read(dem)?;
        let epsg = epsg.ok_or_else(|| VipError::bad_input(dem, "DEM has no EPSG-coded CRS"))?;
        Ok(Inputs {
            product,
            dir,
            bands,
            flight,
            auxiliary_used,
            refimg,
            gipps_used: used,
            earth_sun,
            stereo,
            quicklook,
            dem: dem_grid,
            dem_path: dem.to_path_buf(),
            epsg,
        })
    }

    /// Path of the raw image of band `b` (0-based).
    pub fn band_image(&self, b: usize) -> PathBuf {
        self.product
            .band_image_path(&self.dir, &self.product.bands[b].code)
    }

    /// Raw lines `lines` of band `b` (0-based), full width, calibrated to radiance, their
    /// flags (saturated, defective), and whether any count read was not zero. Only the lines
    /// that `needed` gives for each run of columns are read (runs as wide as the image's
    /// blocks, one run when its blocks span the width); the other samples are left at 0.
    pub fn radiance(
        &self,
        b: usize,
        lines: Range<usize>,
        needed: &raster::RowsPerRun,
    ) -> Result<(Vec<f32>, Vec<u8>, bool)> {
        let band = &self.product.bands[b];
        let cols = band.cols;
        let path = self.band_image(b);
        let ds = raster::open(&path)?;
        let width = raster::block_size(&ds, 1).0.min(cols);
        let cal = &self.bands[b].calibration;
        let first = self.product.geometry.first_detector;
        let mut radiance = vec![0f32; lines.len() * cols];
        let mut flags = vec![0u8; lines.len() * cols];
        let mut signal = false;
        for (k, run) in needed(width).into_iter().enumerate() {
            let Some(rows) = run else { continue };
            let rows = rows.start.max(lines.start)..rows.end.min(lines.end);
            let run = cal.widened(k * width..(k + 1) * width, cols, first);
            let (c0, c1) = (run.start, run.end);
            if rows.is_empty() || c0 >= c1 {
                continue;
            }
            let w = c1 - c0;
            let counts: Vec<f32> = raster::read_window(&ds, 1, (c0, rows.start), (w, rows.len()))?;
            signal |= counts.iter().any(|&x| x != 0.0);
            let mut out = vec![0f32; counts.len()];
            let mut fl = vec![0u8; counts.len()];
            cal.calibrate(&counts, w, first + c0, &mut out, &mut fl);
            for (i, r) in rows.enumerate() {
                let at = (r - lines.start) * cols + c0;
                radiance[at..at + w].copy_from_slice(&out[i * w..(i + 1) * w]);
                flags[at..at + w].copy_from_slice(&fl[i * w..(i + 1) * w]);
            }
        }
        Ok((radiance, flags, signal))
    }

    /// The sensor model of every band, in the map plane of `to_lonlat`'s CRS.
    pub fn models(&self, to_lonlat: &MapToLonLat) -> Result<Vec<BandModel>> {
        let orbital = self
            .product
            .bands
            .par_iter()
            .zip(&self.bands)
            .map(|(band, inputs)| {
                let d = &band.datation;
                let b = OrbitalBand {
                    datation: Datation {
                        line_ref: d.line_ref,
                        time_ref: d.time_ref,
                        te: d.te,
                    },
                    first_detector: self.product.geometry.first_detector,
                    view_dirs: inputs.view_dirs.clone(),
                    array_to_body: inputs.array_to_body,
                };
                OrbitalModel::new(&self.flight, b, band.lines)
            })
            .collect::<Result<Vec<_>>>()?;
        // the map ↔ lon/lat conversion around where the first band's centre pixel looks,
        // wide enough for every band's image over any relief
        let (b0, m0) = (&self.product.bands[0], &orbital[0]);
        let (lines, cols) = (b0.lines as f64, b0.cols as f64);
        let centre = m0.ground((lines - 1.0) / 2.0, (cols - 1.0) / 2.0, 0.0)?;
        let (lon, lat, _) = ecef_to_geodetic(centre);
        let radius = lines.max(cols) * venus::GROUND_SAMPLING_M + 10_000.0;
        let local = to_lonlat.local(to_lonlat.map(lon, lat)?, radius)?;
        Ok(orbital
            .into_iter()
            .map(|m| BandModel::new(m, local))
            .collect())
    }
}

/// The flight of `product` (whose header is `l1a`): the GPS ephemeris and the attitude its
/// technical file lists and the Earth orientation file covering its acquisition, all found
/// in `dir`; and the files used, as (File_Type, logical id).
fn read_flight(product: &L1a, l1a: &Path, dir: &Path) -> Result<(Flight, Vec<(String, String)>)> {
    let listed = |code: &str| {
        let f = product
            .auxiliary
            .iter()
            .find(|a| a.code == code)
            .ok_or_else(|| {
                VipError::bad_input(
                    l1a,
                    format!("its technical file lists no {code} auxiliary data file"),
                )
            })?;
        let path = dir.join(format!("{}.EEF", f.name));
        if !path.is_file() {
            return Err(VipError::bad_input(
                &path,
                format!("the {} file the product lists is missing", f.file_type()),
            ));
        }
        Ok((path, (f.file_type().to_string(), f.name.clone())))
    };
    let (gps, gps_used) = listed("GPS")?;
    let (aocs, aocs_used) = listed("AOCS")?;
    let eop = earth_orientation(dir, product.acquisition)?;
    let eop_id = eop
        .source
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let flight = Flight {
        ephemeris: Ephemeris::new(&auxdata::read_gpsdta(&gps)?, &gps)?,
        attitude: Attitude::new(&auxdata::read_aocdta(&aocs)?, &aocs)?,
        eop,
        knowledge: Default::default(),
    };
    Ok((
        flight,
        vec![gps_used, aocs_used, ("EXO_EORDTA".into(), eop_id)],
    ))
}

/// The Earth orientation file of `dir` valid at `t` (the one whose validity starts latest,
/// if several are); bad input naming the file if none covers `t` ("out of date"), or `dir` if
/// it holds none.
fn earth_orientation(dir: &Path, t: chrono::NaiveDateTime) -> Result<EopTable> {
    let found = crate::ee::header::headers_in(dir, "_EXO_EORDTA_")?;
    let mut best: Option<EopTable> = None;
    let mut stale = None;
    for hdr in found {
        let table = eordta::read_eordta(&hdr)?;
        match table.at(t) {
            Err(e) => stale = Some(e),
            Ok(_) => {
                if best
                    .as_ref()
                    .is_none_or(|b| b.validity.0 <= table.validity.0)
                {
                    best = Some(table);
                }
            }
        }
    }
    best.ok_or_else(|| {
        stale.unwrap_or_else(|| {
            VipError::bad_input(
                dir,
                "holds no Earth orientation file (EXO_EORDTA) for the acquisition",
            )
        })
    })
}
