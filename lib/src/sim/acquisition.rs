//! Planning one simulated acquisition: the site grid, the orbit over it, and for every band
//! the datation and detector range that make its image cover the site whatever the relief.

use chrono::NaiveDateTime;

pub use crate::geometry::grid::Site;
use crate::geometry::sensor::{BandGeometry, BandModel, Datation, Platform};
use crate::geometry::time::add_seconds;
use crate::mission::venus::{self, DETECTORS};

/// Inclination of the VENµS sun-synchronous orbit, degrees.
pub const INCLINATION_DEG: f64 = 98.3;
const EARTH_RADIUS_M: f64 = 6_371_000.0;
const GM_EARTH: f64 = 3.986_004_418e14;

/// Heading of a descending pass over latitude `lat_deg`: the ground track runs south-south-west.
pub fn descending_heading(lat_deg: f64) -> f64 {
    let s = INCLINATION_DEG.to_radians().cos() / lat_deg.to_radians().cos();
    180.0 - s.clamp(-1.0, 1.0).asin().to_degrees()
}

/// Speed of the nadir point of a circular orbit at `altitude` metres (Earth rotation ignored).
pub fn ground_speed(altitude: f64) -> f64 {
    let r = EARTH_RADIUS_M + altitude;
    (GM_EARTH / r).sqrt() * EARTH_RADIUS_M / r
}

/// Geometry of one simulated acquisition.
#[derive(Debug, Clone)]
pub struct Acquisition {
    pub platform: Platform,
    /// Per band, B01..B12.
    pub bands: Vec<BandGeometry>,
    /// Image lines per band.
    pub lines: Vec<usize>,
    /// Image columns (the same detectors for every band).
    pub cols: usize,
    pub first_detector: usize,
    /// How the first detector followed from the site: its nearest cross-track coordinate (m),
    /// metres per detector there, and the detector margin.
    cross_track: (f64, f64, f64),
    /// The site reaches beyond an end of the detector array.
    clipped: bool,
}

/// Plans the acquisition of `site` at `t_centre` from a platform at nadir over its centre
/// (heading from latitude `lat_deg`), so that every band covers the site for terrain heights in
/// `h_range`. `view_dirs` are the 12 bands' VIEDIR tables. With `first_detector`, the ground
/// track is moved across so that the image starts at that detector (as real products start
/// wherever the site lies in the swath); `None` if the site then does not fit the array.
pub fn plan(
    site: &Site,
    lat_deg: f64,
    t_centre: NaiveDateTime,
    h_range: (f64, f64),
    view_dirs: &[Vec<(f64, f64)>],
    first_detector: Option<usize>,
) -> Option<Acquisition> {
    let nadir = plan_from(site, site.centre(), lat_deg, t_centre, h_range, view_dirs);
    let Some(want) = first_detector else {
        return Some(nadir);
    };
    // The first detector is floor(j(r_min) − margin) with j(r) = 2599.5 + r / ((H − h)·k):
    // move the track by δ to the right so that j(r_min − δ) − margin = want + ½.
    let (r_min, scale, margin) = nadir.cross_track;
    let delta = r_min - (want as f64 + 0.5 + margin - 2599.5) * scale;
    let h = descending_heading(lat_deg).to_radians();
    let c = site.centre();
    let centre = (c.0 + delta * h.cos(), c.1 - delta * h.sin());
    let acq = plan_from(site, centre, lat_deg, t_centre, h_range, view_dirs);
    let fits = acq.first_detector == want && !acq.clipped;
    fits.then_some(acq)
}

fn plan_from(
    site: &Site,
    centre: (f64, f64),
    lat_deg: f64,
    t_centre: NaiveDateTime,
    h_range: (f64, f64),
    view_dirs: &[Vec<(f64, f64)>],
) -> Acquisition {
    let altitude = venus::ORBIT_ALTITUDE_M;
    let speed = ground_speed(altitude);
    let te = venus::GROUND_SAMPLING_M / speed;
    let platform = Platform {
        centre,
        t_centre,
        heading_deg: descending_heading(lat_deg),
        ground_speed: speed,
        altitude,
        roll_deg: 0.0,
        pitch_deg: 0.0,
        yaw_deg: 0.0,
    };
    // Track coordinates of the site corners (any band model gives the same frame).
    let probe = BandModel::new(
        &platform,
        &BandGeometry {
            datation: Datation {
                line_ref: 0.0,
                time_ref: t_centre,
                te,
            },
            first_detector: 0,
            view_dirs: view_dirs[0].clone(),
        },
    );
    let track: Vec<(f64, f64)> = site
        .corners()
        .iter()
        .map(|&(e, n)| probe.track_coordinates(e, n))
        .collect();
    let (s_min, s_max) = min_max(track.iter().map(|t| t.0));
    let (r_min, r_max) = min_max(track.iter().map(|t| t.1));
    // Detectors: nominal tan ψX of detector j is (j − 2599.5)·GSD/H; margin for relief.
    let k = venus::GROUND_SAMPLING_M / altitude;
    let margin =
        8.0 + (h_range.1.abs().max(h_range.0.abs()) * 0.02 / venus::GROUND_SAMPLING_M).ceil();
    let scale = (altitude - h_range.1.max(0.0)) * k;
    let j_of = |r: f64| 2599.5 + r / scale;
    let (lo, hi) = (
        (j_of(r_min) - margin).floor(),
        (j_of(r_max) + margin).ceil(),
    );
    let clipped = lo < 0.0 || hi > (DETECTORS - 1) as f64;
    let first = lo.max(0.0) as usize;
    let last = (hi.max(0.0) as usize).min(DETECTORS - 1);
    let cols = last - first + 1;
    let mut bands = Vec::new();
    let mut lines = Vec::new();
    for dirs in view_dirs {
        let tan_y = dirs[(first + last) / 2].1;
        // Footprint along track at time t and height h: speed·t + (H − h)·tan ψY.
        let t_at = |s: f64, h: f64| (s - (altitude - h) * tan_y) / speed;
        let t_start = t_at(s_min, h_range.0).min(t_at(s_min, h_range.1)) - margin * te;
        let t_end = t_at(s_max, h_range.0).max(t_at(s_max, h_range.1)) + margin * te;
        lines.push(((t_end - t_start) / te).ceil() as usize + 1);
        bands.push(BandGeometry {
            datation: Datation {
                line_ref: 0.0,
                time_ref: add_seconds(t_centre, t_start),
                te,
            },
            first_detector: first,
            view_dirs: dirs.clone(),
        });
    }
    Acquisition {
        platform,
        bands,
        lines,
        cols,
        first_detector: first,
        cross_track: (r_min, scale, margin),
        clipped,
    }
}

fn min_max(it: impl Iterator<Item = f64>) -> (f64, f64) {
    it.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::instrument;

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

    #[test]
    fn orbit_numbers() {
        // VM1: 720 km, sun-synchronous 98.3°: ~6.7 km/s over the ground, heading ~191.6° at 44°N.
        assert!((ground_speed(720_000.0) - 6737.0).abs() < 5.0);
        assert!((descending_heading(44.0) - 191.58).abs() < 0.05);
    }

    #[test]
    fn every_band_covers_the_site_at_every_height() {
        let s = site(512, 512);
        let cal = instrument::draw(1, 0..5200);
        let dirs: Vec<_> = cal.iter().map(|c| c.view_dirs.clone()).collect();
        let t = chrono::NaiveDateTime::parse_from_str("2024-03-15T10:30:00", "%Y-%m-%dT%H:%M:%S")
            .unwrap();
        // At nadir, and with the image starting at detectors of every alignment.
        for first in [None, Some(1000), Some(1001), Some(1002), Some(4500)] {
            let acq = plan(&s, 44.0, t, (100.0, 1000.0), &dirs, first).unwrap();
            assert!(acq.cols > 512 && acq.cols < 700, "{}", acq.cols);
            if let Some(f) = first {
                assert_eq!(acq.first_detector, f);
            }
            covers(&s, &acq);
        }
        // Too near the end of the array for the site to fit.
        assert!(plan(&s, 44.0, t, (100.0, 1000.0), &dirs, Some(4800)).is_none());
    }

    fn covers(s: &Site, acq: &Acquisition) {
        for (b, geom) in acq.bands.iter().enumerate() {
            let m = BandModel::new(&acq.platform, geom);
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
