//! Everything one L1A → L1C run reads, loaded and checked before any pixel is written: the raw
//! product (header, band images of the announced size), the GIPPs of its site, date and TDI
//! configurations (calibration, viewing directions, REFLEC, CLOUDD, CKQLTL), and the DEM. Every problem is a bad-input error naming the file.

use std::path::{Path, PathBuf};

use super::EarthSun;
use crate::cloud::stereo::StereoParams;
use crate::ee::cloudd::{self, Ckqltl};
use crate::ee::gipp::{GippCatalogue, GippEntry, GippQuery};
use crate::ee::gipps;
use crate::error::{Result, VipError};
use crate::geometry::dem::Dem;
use crate::geometry::lonlat::MapToLonLat;
use crate::geometry::sensor::{BandGeometry, BandModel, Datation, Platform};
use crate::mission::venus;
use crate::product::L1a;
use crate::radiometry::BandCalibration;
use crate::raster;

/// The calibration and viewing directions of one band.
pub struct BandInputs {
    pub calibration: BandCalibration,
    pub view_dirs: Vec<(f64, f64)>,
}

/// The loaded inputs of one run.
pub struct Inputs {
    pub product: L1a,
    /// Folder holding the L1A header.
    pub dir: PathBuf,
    pub bands: Vec<BandInputs>,
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
    /// Loads and checks the inputs of one run.
    pub fn load(l1a: &Path, gipp: &Path, dem: &Path) -> Result<Inputs> {
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
            });
        }
        let (dem_grid, epsg) = Dem::read(dem)?;
        let epsg = epsg.ok_or_else(|| VipError::bad_input(dem, "DEM has no EPSG-coded CRS"))?;
        Ok(Inputs {
            product,
            dir,
            bands,
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

    /// The sensor model of every band, in the map plane of the DEM's CRS.
    pub fn models(&self, to_lonlat: &MapToLonLat) -> Result<Vec<BandModel>> {
        let g = &self.product.geometry;
        let platform = Platform {
            centre: to_lonlat.map(g.nadir_lon, g.nadir_lat)?,
            t_centre: self.product.acquisition,
            heading_deg: g.heading_deg,
            ground_speed: g.ground_speed_m_s,
            altitude: g.altitude_m,
            roll_deg: g.roll_deg,
            pitch_deg: g.pitch_deg,
            yaw_deg: g.yaw_deg,
        };
        Ok(self
            .product
            .bands
            .iter()
            .zip(&self.bands)
            .map(|(band, inputs)| {
                BandModel::new(
                    &platform,
                    &BandGeometry {
                        datation: Datation {
                            line_ref: band.datation.line_ref,
                            time_ref: band.datation.time_ref,
                            te: band.datation.te,
                        },
                        first_detector: g.first_detector,
                        view_dirs: inputs.view_dirs.clone(),
                    },
                )
            })
            .collect())
    }
}
