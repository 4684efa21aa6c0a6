//! The GIPP set of a simulated scene: the calibration the camera was drawn with, written as
//! VENµS parameter files applicable to the site from the acquisition date on.

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};

use super::instrument::{BandCalibration, Defect};
use crate::ee::cloudd;
use crate::ee::gipp::Applicability;
use crate::ee::gipps::{
    self, ArrayRotation, DarkCurrents, DefectKind, GippCommon, OutOfOrderDetectors, PhysicalGains,
    ReflectanceParameters, RelativeSensitivities, Rotation, SensorGeometry, TdiDefects, Transform,
    ViewingDirections,
};
use crate::ee::header::open_validity;
use crate::ee::naming::TdiSet;
use crate::ee::strlgt::StrayLightFilters;
use crate::error::Result;
use crate::mission::venus;
use crate::raster;

/// TDI configuration of every simulated band.
pub const TDI: u8 = 8;

/// The simulated instrument's geometry: every frame aligned with its parent, no focal
/// correction (the viewing directions of VIEDIR say everything).
pub fn ideal_sensor_geometry() -> SensorGeometry {
    let none = || Rotation {
        order: "XYZ".into(),
        x: 0.0,
        y: 0.0,
        z: 0.0,
    };
    let transform = || Transform {
        rotation: none(),
        z_homothety: 1.0,
    };
    SensorGeometry {
        spacecraft_to_instrument: transform(),
        instrument_to_tridetector: (0..4).map(|_| transform()).collect(),
        tridetector_to_array: venus::BANDS
            .iter()
            .map(|b| ArrayRotation {
                tridetector: b.detector,
                band: b.code.into(),
                rotation: none(),
            })
            .collect(),
    }
}

/// Writes DARKCU, RELSEN, VIEDIR, OUTORD (per band), PHGAIN, REFLEC, SENGEO, the CLOUDD and CKQLTL
/// of VIP's defaults ([`crate::cloud::stereo::vip_default`],
/// [`crate::level1::quicklook::vip_default`]) and the L3COMM of WASP's
/// ([`crate::ee::l3comm::L3Comm::WASP`]) into `dir`.
pub fn write(
    dir: &Path,
    nick: &str,
    date: NaiveDate,
    creation: NaiveDateTime,
    cal: &[BandCalibration],
    sengeo: &SensorGeometry,
    strlgt: Option<&[StrayLightFilters]>,
) -> Result<()> {
    raster::ensure_dir(dir)?;
    let mut common = GippCommon::new(
        super::scene::CLASS,
        Applicability::site(super::scene::CLASS, 'S', nick)?,
        open_validity(date),
    )?;
    common.creator = "vip-sim".into();
    common.creation_date = creation;
    common.notes = "simulated calibration".into();
    let tdi = TdiSet::new(&[TDI])?;
    for (b, c) in venus::BANDS.iter().zip(cal) {
        let band = b.code.to_string();
        let docs = [
            gipps::darkcu(
                &common,
                &DarkCurrents {
                    band: band.clone(),
                    tdi,
                    values: c.dark.clone(),
                    spikes: vec![],
                },
            )?,
            gipps::relsen(
                &common,
                &RelativeSensitivities {
                    band: band.clone(),
                    tdi,
                    values: c.relsen.iter().map(|&(a1, a2, zs)| [a1, a2, zs]).collect(),
                },
            )?,
            gipps::viedir(
                &common,
                &ViewingDirections {
                    band: band.clone(),
                    tdi,
                    values: c.view_dirs.iter().map(|&(x, y)| [x, y]).collect(),
                },
            )?,
            gipps::outord(
                &common,
                &OutOfOrderDetectors {
                    band: band.clone(),
                    configurations: vec![TdiDefects {
                        tdi: TDI,
                        defects: c
                            .defects
                            .iter()
                            .map(|&(j, kind)| gipps::Defect {
                                first: (j + 1) as u16,
                                last: (j + 1) as u16,
                                kind: match kind {
                                    Defect::Blind => DefectKind::Blind,
                                    Defect::Noisy => DefectKind::Noisy,
                                },
                            })
                            .collect(),
                    }],
                },
            )?,
        ];
        for doc in &docs {
            gipps::write_gipp(doc, dir)?;
        }
    }
    let gains: [f64; 12] = std::array::from_fn(|b| cal[b].gain);
    gipps::write_gipp(
        &gipps::phgain(&common, &PhysicalGains::per_band(&gains))?,
        dir,
    )?;
    // Earth–Sun distance model of the REFLEC GIPP: d = 1 − e·cos(n·(t − t0)), perihelion t0
    // (2000-01-03, JD 2451547), anomalistic year.
    let reflec = ReflectanceParameters {
        mean_rotation_speed: std::f64::consts::TAU / 365.259_636,
        eccentricity: 0.016_709,
        t0_day: 2_451_547.0,
        max_reflectance: 1.2,
    };
    gipps::write_gipp(&gipps::reflec(&common, &reflec)?, dir)?;
    gipps::write_gipp(&gipps::sengeo(&common, sengeo)?, dir)?;
    let mut defaults = common.clone();
    defaults.notes = "VIP default parameters".into();
    gipps::write_gipp(
        &cloudd::cloudd(&defaults, &crate::cloud::stereo::vip_default())?,
        dir,
    )?;
    gipps::write_gipp(
        &cloudd::ckqltl(&defaults, &crate::level1::quicklook::vip_default())?,
        dir,
    )?;
    gipps::write_gipp(
        &crate::ee::l3comm::l3comm(&defaults, &crate::ee::l3comm::L3Comm::WASP)?,
        dir,
    )?;
    for f in strlgt.unwrap_or_default() {
        crate::ee::strlgt::write_strlgt(&common, f, dir)?;
    }
    Ok(())
}
