//! Planning one simulated acquisition: the site grid, the orbit over it (a real one,
//! [`super::orbit`]), the satellite pointed at the site, and for every band the datation and
//! detector range that make its image cover the site whatever the relief.

use chrono::NaiveDateTime;

use super::orbit::{aux_samples, orbital_axes, roll_towards, Jitter, Orbit};
use crate::ee::auxdata::{AttitudeSample, GpsSample};
use crate::ee::eordta::EopTable;
use crate::error::{Result, VipError};
use crate::geometry::earth::{
    ecef_to_geodetic, geodetic_to_ecef, vertical, EarthOrientation, Mat3,
};
pub use crate::geometry::grid::Site;
use crate::geometry::lonlat::LocalLonLat;
use crate::geometry::orbit::{Attitude, Ephemeris};
use crate::geometry::orbital::KnowledgeError;
use crate::geometry::orbital::{Flight, OrbitalBand, OrbitalModel};
use crate::geometry::sensor::{BandModel, Datation};
use crate::geometry::time::add_seconds;
use crate::mission::venus::{self, DETECTORS};

/// Mean Earth radius (m), for the first guess of the track's offset from a roll.
const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// How the satellite looks at the site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pointing {
    /// Roll (degrees, positive to the right of the track) towards the site centre: the
    /// ground track passes aside so that the satellite, rolled so, sees it.
    pub roll_deg: f64,
    /// Detector of the image's first column (`None`: the site centred on the array); the
    /// roll is then trimmed so that the image starts there, as real products start wherever
    /// the site lies in the swath.
    pub first_detector: Option<usize>,
    /// How wrong the auxiliary data written are about the flight the images were made with.
    pub knowledge: KnowledgeError,
    /// What the body does between the reported attitude samples.
    pub jitter: Option<Jitter>,
}

/// What makes a band look where it does: its detectors' VIEDIR directions and its array's
/// rotation to the body (SENGEO).
#[derive(Debug, Clone, Copy)]
pub struct Optics<'a> {
    pub view_dirs: &'a [(f64, f64)],
    pub array_to_body: Mat3,
}

/// Geometry of one simulated acquisition.
#[derive(Debug, Clone)]
pub struct Acquisition {
    /// The instant the satellite sees the site centre.
    pub t_centre: NaiveDateTime,
    /// The auxiliary data as reported (what GPSDTA and AOCDTA hold: the flight's, with the
    /// pointing's knowledge error) and the flight the images were made with.
    pub gps: Vec<GpsSample>,
    pub attitude: Vec<AttitudeSample>,
    pub flight: Flight,
    /// The satellite's roll, degrees (positive: looking right of the track).
    pub roll_deg: f64,
    /// Per band, B01..B12.
    pub bands: Vec<OrbitalBand>,
    /// The bands' sensor models in the site's CRS.
    pub models: Vec<BandModel>,
    /// Image lines per band.
    pub lines: Vec<usize>,
    /// Image columns (the same detectors for every band).
    pub cols: usize,
    pub first_detector: usize,
}

/// Plans the acquisition of `site` (whose CRS `local` converts) at `t_centre`, pointed as
/// `pointing` says, so that every band covers the site for terrain heights in `h_range`.
/// `optics` are the 12 bands', `eop` the Earth orientation the orbit is turned with and its
/// table. `Ok(None)` if the site does not fit the detector array from there.
pub fn plan(
    site: &Site,
    local: &LocalLonLat,
    t_centre: NaiveDateTime,
    h_range: (f64, f64),
    optics: &[Optics],
    pointing: Pointing,
    eop: (EarthOrientation, EopTable),
) -> Result<Option<Acquisition>> {
    let k = &pointing.knowledge;
    let biases = [k.roll_urad, k.pitch_urad, k.yaw_urad];
    if !biases.iter().all(|b| b.is_finite() && b.abs() <= 10_000.0) {
        return Err(VipError::Usage(format!(
            "--attitude-bias {biases:?}: each must be within ±10000 µrad"
        )));
    }
    if let Some(j) = pointing
        .jitter
        .filter(|j| !(j.rms_urad.is_finite() && (0.0..=100.0).contains(&j.rms_urad)))
    {
        return Err(VipError::Usage(format!(
            "--attitude-noise {}: must be within 0-100 µrad",
            j.rms_urad
        )));
    }
    if !(k.time_s.is_finite() && k.time_s.abs() <= 1.0) {
        return Err(VipError::Usage(format!(
            "--time-offset {}: must be within ±1000 ms",
            k.time_s * 1e3
        )));
    }
    let (lon, lat) = local.lonlat(site.centre().0, site.centre().1);
    let target = geodetic_to_ecef(lon, lat, 0.0);
    let orbit = pass_with_roll(lon, lat, t_centre, pointing.roll_deg, eop.0)?;
    let mut roll = roll_towards(&orbit.state(t_centre)?, target);
    // How long the site takes to pass, and how far fore and aft the bands look.
    let extent = (site.lines as f64).hypot(site.cols as f64) * site.pixel_m;
    let speed = venus::GROUND_SAMPLING_M / line_period();
    let look = optics
        .iter()
        .flat_map(|o| o.view_dirs.iter().map(|v| v.1.abs()))
        .fold(0.0, f64::max);
    let half_span = extent / 2.0 / speed + look * 1.6 * venus::ORBIT_ALTITUDE_M / speed + 1.0;
    let margin =
        8.0 + (h_range.1.abs().max(h_range.0.abs()) * 0.02 / venus::GROUND_SAMPLING_M).ceil();
    let mut trims = 0;
    loop {
        let span = (
            add_seconds(t_centre, -half_span),
            add_seconds(t_centre, half_span),
        );
        let (gps, nominal) = aux_samples(&orbit, roll, span, 2.0)?;
        // the attitude flown, and the samples the satellite reports of it
        let (flown, attitude) = match &pointing.jitter {
            Some(j) => j.shake(&nominal),
            None => (nominal.clone(), nominal),
        };
        let source = std::path::Path::new("the simulated flight");
        let flight = Flight {
            ephemeris: Ephemeris::new(&gps, source)?,
            attitude: Attitude::new(&flown, source)?,
            eop: eop.1.clone(),
            knowledge: Default::default(),
        };
        let (gps, attitude) = pointing.knowledge.reported(&gps, &attitude);
        let mut acq = Acquisition {
            t_centre,
            gps,
            attitude,
            flight,
            roll_deg: roll,
            bands: vec![],
            models: vec![],
            lines: vec![],
            cols: 0,
            first_detector: 0,
        };
        let (lo, hi) = acq.frame_bands(site, local, h_range, optics, margin, half_span)?;
        // trim the roll so that the image starts at the wanted detector (+ ½: the middle of
        // the interval that floors to it): a detector is 5.3 m / 720 km of roll
        let want = pointing.first_detector.map(|w| w as f64 + 0.5);
        if let Some(w) = want.filter(|w| (lo - w).abs() > 0.05 && trims < 6) {
            roll += (lo - w) * (venus::GROUND_SAMPLING_M / venus::ORBIT_ALTITUDE_M).to_degrees();
            trims += 1;
            continue;
        }
        let last = (DETECTORS - 1) as f64;
        if lo < 0.0 || hi > last {
            // a site wider than the swath is imaged as far as the detectors reach, as real
            // acquisitions are: the rest of it is no-data in the L1C
            if pointing.first_detector.is_some() || hi < 0.0 || lo > last {
                return Ok(None);
            }
            log::warn!(
                "the site reaches {:.0} detectors beyond the {DETECTORS}-detector swath (the track \
                 runs across the map grid): the L1C will be no-data there",
                (-lo).max(0.0) + (hi - last).max(0.0)
            );
        }
        acq.finish(
            local,
            lo.max(0.0).floor() as usize,
            hi.min(last).ceil() as usize,
        )?;
        if let Some(w) = pointing.first_detector {
            if acq.first_detector != w {
                return Ok(None);
            }
        }
        return Ok(Some(acq));
    }
}

/// The line period of every simulated band (s): a line is one ground sample at the speed of
/// the nadir point of a 720 km orbit.
pub fn line_period() -> f64 {
    const GM_EARTH: f64 = 3.986_004_418e14;
    let r = EARTH_RADIUS_M + venus::ORBIT_ALTITUDE_M;
    let ground_speed = (GM_EARTH / r).sqrt() * EARTH_RADIUS_M / r;
    venus::GROUND_SAMPLING_M / ground_speed
}

/// A descending pass over (lon, lat) at `t` whose satellite sees it at `roll` degrees: the
/// track's offset guessed on a spherical Earth, then corrected by the secant method.
fn pass_with_roll(
    lon: f64,
    lat: f64,
    t: NaiveDateTime,
    roll: f64,
    eop: EarthOrientation,
) -> Result<Orbit> {
    if !(-45.0..=45.0).contains(&roll) {
        return Err(VipError::Usage(format!(
            "--roll {roll}: must be within ±45°"
        )));
    }
    if roll == 0.0 {
        return Orbit::pass_over(lon, lat, t, 0.0, eop);
    }
    let target = geodetic_to_ecef(lon, lat, 0.0);
    let r = EARTH_RADIUS_M;
    let a = roll.to_radians();
    let central = ((r + venus::ORBIT_ALTITUDE_M) / r * a.sin()).asin() - a;
    let mut across = r * central.sin();
    let seen = |across: f64| -> Result<(Orbit, f64)> {
        let o = Orbit::pass_over(lon, lat, t, across, eop)?;
        let r = roll_towards(&o.state(t)?, target);
        Ok((o, r))
    };
    let (mut orbit, mut got) = seen(across)?;
    let mut prev = (across, got);
    across *= roll / got;
    for _ in 0..6 {
        (orbit, got) = seen(across)?;
        if (got - roll).abs() < 1e-6 {
            break;
        }
        let slope = (got - prev.1) / (across - prev.0);
        prev = (across, got);
        across += (roll - got) / slope;
    }
    Ok(orbit)
}

impl Acquisition {
    /// Bytes of its bands' orbital models in memory (their per-line tables).
    pub fn bytes(&self) -> u64 {
        self.models.iter().map(BandModel::bytes).sum()
    }

    /// Frames every band on the site: its datation and (provisionally) its detectors, from
    /// where the site's edges at the lowest and highest terrain fall in it, with `margin`
    /// lines and detectors around. Returns the detector range (continuous) every band needs.
    fn frame_bands(
        &mut self,
        site: &Site,
        local: &LocalLonLat,
        h_range: (f64, f64),
        optics: &[Optics],
        margin: f64,
        half_span: f64,
    ) -> Result<(f64, f64)> {
        let te = line_period();
        let probe_lines = ((2.0 * half_span - 1.0) / te) as usize;
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        let edges = site_edges(site);
        for o in optics {
            let mut band = OrbitalBand {
                datation: Datation {
                    line_ref: 0.0,
                    time_ref: add_seconds(self.t_centre, -(half_span - 0.5)),
                    te,
                },
                first_detector: 0,
                view_dirs: o.view_dirs.to_vec(),
                array_to_body: o.array_to_body,
            };
            let probe = BandModel::new(
                OrbitalModel::new(&self.flight, band.clone(), probe_lines)?,
                *local,
            );
            let (mut l0, mut l1) = (f64::MAX, f64::MIN);
            for &(e, n) in &edges {
                for h in [h_range.0, h_range.1] {
                    let (l, c) = probe.image_position(e, n, h);
                    (l0, l1) = (l0.min(l), l1.max(l));
                    (lo, hi) = (lo.min(c - margin), hi.max(c + margin));
                }
            }
            let first_line = (l0 - margin).floor();
            band.datation.time_ref = probe.line_instant(first_line);
            self.lines
                .push((l1 + margin - first_line).ceil() as usize + 1);
            self.bands.push(band);
        }
        Ok((lo, hi))
    }

    /// Sets the detectors `first..=last` on every band and builds the models.
    fn finish(&mut self, local: &LocalLonLat, first: usize, last: usize) -> Result<()> {
        self.first_detector = first;
        self.cols = last - first + 1;
        for band in &mut self.bands {
            band.first_detector = first;
        }
        self.models = self
            .bands
            .iter()
            .zip(&self.lines)
            .map(|(b, &lines)| {
                Ok(BandModel::new(
                    OrbitalModel::new(&self.flight, b.clone(), lines)?,
                    *local,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// The nadir (lon, lat, height above the ellipsoid) at `t_centre`, the heading of the
    /// ground track there (degrees clockwise from north) and the nadir's ground speed (m/s).
    pub fn nadir(&self) -> Result<((f64, f64, f64), f64, f64)> {
        let s = self.flight.ephemeris.at(self.t_centre)?;
        let (lon, lat, h) = ecef_to_geodetic(s.position);
        let [forward, _, _] = orbital_axes(&s);
        let up = vertical(lon, lat);
        let (sl, cl) = lon.to_radians().sin_cos();
        let east = [-sl, cl, 0.0];
        let north: [f64; 3] = [
            up[1] * east[2] - up[2] * east[1],
            up[2] * east[0] - up[0] * east[2],
            up[0] * east[1] - up[1] * east[0],
        ];
        let dot = |u: [f64; 3], v: [f64; 3]| (0..3).map(|i| u[i] * v[i]).sum::<f64>();
        let heading = dot(forward, east)
            .atan2(dot(forward, north))
            .to_degrees()
            .rem_euclid(360.0);
        let r = (0..3).map(|i| s.position[i].powi(2)).sum::<f64>().sqrt();
        let v = dot(s.velocity, forward);
        Ok(((lon, lat, h), heading, v * (r - h) / r))
    }
}

/// Points around the site's edge (corners and edge midpoints).
fn site_edges(site: &Site) -> Vec<(f64, f64)> {
    let c = site.corners();
    let mut v = c.to_vec();
    for i in 0..c.len() {
        let (a, b) = (c[i], c[(i + 1) % c.len()]);
        v.push(((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::earth::IDENTITY;
    use crate::geometry::lonlat::MapToLonLat;
    use crate::sim::instrument;
    use crate::sim::orbit::{eop_table, SIMULATED_EOP};

    fn site(lines: usize, cols: usize) -> Site {
        Site {
            name: "SIMULSIT".into(),
            nick: "SIMULSIT".into(),
            epsg: 32631,
            ulx: 700_000.0,
            uly: 4_900_000.0,
            pixel_m: 5.0,
            lines,
            cols,
            acquisition: "2024-03-15T10:30:00".into(),
        }
    }

    fn t() -> NaiveDateTime {
        chrono::NaiveDateTime::parse_from_str("2024-03-15T10:30:00", "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    fn plan_site(s: &Site, pointing: Pointing) -> Option<Acquisition> {
        let cal = instrument::draw(1, 0..5200);
        let dirs: Vec<_> = cal.iter().map(|c| c.view_dirs.clone()).collect();
        let local = MapToLonLat::new(s.epsg)
            .unwrap()
            .local(s.centre(), 20_000.0)
            .unwrap();
        let optics: Vec<Optics> = dirs
            .iter()
            .map(|d| Optics {
                view_dirs: d,
                array_to_body: IDENTITY,
            })
            .collect();
        plan(
            s,
            &local,
            t(),
            (100.0, 1000.0),
            &optics,
            pointing,
            (SIMULATED_EOP, eop_table(t(), SIMULATED_EOP)),
        )
        .unwrap()
    }

    #[test]
    fn the_line_period_is_a_ground_sample() {
        // VM1: 720 km: ~6.7 km/s over the ground, a 5.3 m sample every ~0.79 ms
        assert!(
            (line_period() - 5.3 / 6737.0).abs() < 1e-6,
            "{}",
            line_period()
        );
    }

    #[test]
    fn every_band_covers_the_site_at_every_height() {
        let s = site(512, 512);
        // At nadir, tilted, and with the image starting at detectors of every alignment.
        for (roll, first) in [
            (0.0, None),
            (20.0, None),
            (-30.0, None),
            (0.0, Some(1000)),
            (0.0, Some(1001)),
            (15.0, Some(1002)),
            (0.0, Some(4500)),
        ] {
            let pointing = Pointing {
                roll_deg: roll,
                first_detector: first,
                knowledge: KnowledgeError::default(),
                jitter: None,
            };
            let acq = plan_site(&s, pointing).unwrap();
            assert!(
                (acq.roll_deg - roll).abs() < if first.is_some() { 1.0 } else { 1e-4 },
                "{roll}: {}",
                acq.roll_deg
            );
            let wide = 1.0 / roll.to_radians().cos().powi(2);
            assert!(
                acq.cols > 512 && (acq.cols as f64) < 700.0 * wide,
                "{}",
                acq.cols
            );
            if let Some(f) = first {
                assert_eq!(acq.first_detector, f);
            }
            // the ground track of a 98.3° orbit descending at 44° N heads 191.6° in inertial
            // space; the Earth turning under it east at 334 m/s bends it 2.8° westwards
            let ((_, _, h), heading, speed) = acq.nadir().unwrap();
            assert!((heading - 194.4).abs() < 0.5, "{heading}");
            // 720 km above the equator's radius is 726 km above the ellipsoid at 44° N; the
            // nadir runs over the turning Earth at about 6.8 km/s
            assert!(
                (h - 726e3).abs() < 2e3 && (6700.0..6900.0).contains(&speed),
                "{h} {speed}"
            );
            covers(&s, &acq);
        }
        // Too near the end of the array for the site to fit.
        assert!(plan_site(
            &s,
            Pointing {
                roll_deg: 0.0,
                first_detector: Some(4800),
                knowledge: KnowledgeError::default(),
                jitter: None,
            }
        )
        .is_none());
    }

    fn covers(s: &Site, acq: &Acquisition) {
        for (b, m) in acq.models.iter().enumerate() {
            let (l, c) = (acq.lines[b] as f64 - 1.0, acq.cols as f64 - 1.0);
            for h in [100.0, 1000.0] {
                // The image's four corners lie outside the site's corners: the site is inside.
                let quad: Vec<_> = [(0.0, 0.0), (0.0, c), (l, c), (l, 0.0)]
                    .iter()
                    .map(|&(y, x)| m.ground(y, x, h))
                    .collect();
                for corner in s.corners() {
                    assert!(
                        inside(&quad, corner),
                        "band {b} h {h}: {corner:?} not in {quad:?}"
                    );
                }
            }
        }
    }

    fn inside(quad: &[(f64, f64)], p: (f64, f64)) -> bool {
        let sign =
            |a: (f64, f64), b: (f64, f64)| (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
        let s: Vec<f64> = (0..4).map(|i| sign(quad[i], quad[(i + 1) % 4])).collect();
        s.iter().all(|&v| v > 0.0) || s.iter().all(|&v| v < 0.0)
    }
}
