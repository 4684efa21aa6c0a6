//! Forward models used by vip-sim: a truth scene, a DEM, the instrument, the GIPPs.

pub mod acquisition;
pub mod atmosphere;
pub mod clouds;
mod gipps;
pub mod instrument;
pub mod landscape;
pub mod noise;
pub mod orbit;
pub mod phenology;
mod scene;
pub mod series;
pub mod sites;
pub mod spectra;
pub mod straylight;

use crate::error::{Result, VipError};

/// What one simulated acquisition is made of.
#[derive(Debug, Clone)]
pub struct SceneSpec {
    /// Site name: a known site's ([`sites`]) or any other.
    pub site: String,
    /// Longitude and latitude of the site centre, degrees: the known site's, else
    /// [`sites::DEFAULT_LONLAT`]; [`SceneSpec::placed`] moves it.
    pub centre_lonlat: (f64, f64),
    pub date: chrono::NaiveDate,
    pub time: chrono::NaiveTime,
    pub lines: usize,
    pub cols: usize,
    pub seed: u64,
    pub relief_m: f64,
    /// Add the camera's stray light and cross-talk (and write the STRLGT GIPPs and the
    /// stray-light-free raw truth).
    pub straylight: bool,
    /// Put a dark lake in the middle of the site (a bright/dark edge for stray-light tests).
    pub lake: bool,
    /// Detector of the image's first column (`None`: the site under the ground track, as
    /// before); the track is moved across so that the image starts there.
    pub first_detector: Option<usize>,
    /// Roll of the satellite towards the site, degrees (positive: looking right of the
    /// track): the orbit passes aside so that the satellite sees the site so tilted.
    pub roll_deg: f64,
    /// How wrong the auxiliary data written are about the flight (none by default).
    pub knowledge: crate::geometry::orbital::KnowledgeError,
    /// RMS of the attitude jitter (µrad per axis) between the reported attitude samples.
    pub attitude_noise_urad: f64,
    /// Put an atmosphere between the surface and the sensor: the landscape's spectra become
    /// surface reflectances (`None`: they are TOA reflectances, no atmosphere).
    pub atmosphere: Option<atmosphere::AtmosphereSpec>,
    /// Clouds over the site (`None`: a clear sky).
    pub clouds: Option<clouds::CloudSpec>,
}

/// Largest relief a site may be given, metres (the Himalaya's valleys to summits).
pub const MAX_RELIEF_M: f64 = 6000.0;

impl SceneSpec {
    /// Checks and builds a scene specification from command-line values; a known site lies at
    /// its position, any other name at the default place.
    pub fn new(
        site: &str,
        date: &str,
        time: &str,
        lines: u32,
        cols: u32,
        seed: u64,
        relief_m: f64,
    ) -> Result<Self> {
        let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|e| VipError::Usage(format!("--date {date}: {e} (expected YYYY-MM-DD)")))?;
        let time = chrono::NaiveTime::parse_from_str(time, "%H:%M:%S")
            .map_err(|e| VipError::Usage(format!("--time {time}: {e} (expected HH:MM:SS)")))?;
        if !(relief_m.is_finite() && (0.0..=MAX_RELIEF_M).contains(&relief_m)) {
            return Err(VipError::Usage(format!(
                "--relief {relief_m}: must be within 0-{MAX_RELIEF_M} m"
            )));
        }
        Ok(SceneSpec {
            site: site.to_string(),
            centre_lonlat: sites::find(site).map_or(sites::DEFAULT_LONLAT, |s| s.lonlat()),
            date,
            time,
            lines: lines as usize,
            cols: cols as usize,
            seed,
            relief_m,
            straylight: false,
            lake: false,
            first_detector: None,
            roll_deg: 0.0,
            knowledge: Default::default(),
            attitude_noise_urad: 0.0,
            atmosphere: None,
            clouds: None,
        })
    }

    /// This scene with its site centred on (lon, lat) degrees, checked
    /// ([`sites::check_position`]).
    pub fn placed(self, lon: f64, lat: f64) -> Result<Self> {
        sites::check_position(lon, lat)?;
        Ok(SceneSpec {
            centre_lonlat: (lon, lat),
            ..self
        })
    }

    /// The 8-character nick name of the site ([`sites::nick_name`]).
    pub fn nick(&self) -> Result<String> {
        sites::nick_name(&self.site)
    }
}

pub use scene::write_scene;
