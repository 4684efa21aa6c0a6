//! The year of the simulated surfaces: what each crop, meadow and forest looks like on a date
//! (leaf area, senescence, harvest, bare soil) and where the snow lies.
//!
//! Calendars are those of temperate western-European agriculture (winter wheat sown in October
//! and harvested in July, maize and sunflower sown in spring and harvested in autumn, meadows
//! mown in June, deciduous forest leafing out in April and turning in October), following the
//! crop calendars of the FAO/GIEWS country briefs and the phenology of Sentinel-2 LAI series
//! over south-west France (e.g. Veloso et al. 2017, Remote Sens. Environ. 199). South of the
//! equator the calendar is shifted by half a year; between the tropics seasons are damped. The
//! snow line follows the season and the latitude (about 700 m in mid-winter and 3200 m in
//! summer at 45°, lower toward the poles), which is coarse but puts snow where and when the
//! cloud and L3 tests need it.

use chrono::{Datelike, NaiveDate};

/// Land uses of agricultural parcels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crop {
    WinterWheat,
    Maize,
    Sunflower,
    Meadow,
    Fallow,
    /// Orchards and vineyards: rows of trees or vines over bare soil.
    Orchard,
}

impl Crop {
    /// The land use of a parcel from a uniform draw in [0, 1).
    pub fn from_unit(u: f64) -> Crop {
        match u {
            u if u < 0.28 => Crop::WinterWheat,
            u if u < 0.46 => Crop::Maize,
            u if u < 0.58 => Crop::Sunflower,
            u if u < 0.82 => Crop::Meadow,
            u if u < 0.92 => Crop::Fallow,
            _ => Crop::Orchard,
        }
    }
}

/// Forest types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forest {
    Deciduous,
    Evergreen,
}

/// The state of a vegetated surface on one date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canopy {
    /// Green plus senescent leaf area index.
    pub lai: f64,
    /// Senescent (brown) fraction of the leaves, 0–1.
    pub brown: f64,
}

/// Where in its year a place is, and what that makes of the snow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Season {
    /// Day of the agricultural year: the day of year, shifted by half a year south of the
    /// equator, so that 1 is mid-winter everywhere.
    pub day: f64,
    /// How strong the seasons are: 1 at mid and high latitudes, down to 0.3 at the equator.
    pub amplitude: f64,
    /// Altitude above which the ground is snow-covered, metres.
    pub snow_line_m: f64,
    /// Age of the snow cover, 0 (fresh) to 1 (old, grains grown, a little soot).
    pub snow_age: f64,
}

impl Season {
    /// The season on `date` at latitude `lat_deg`.
    pub fn on(date: NaiveDate, lat_deg: f64) -> Season {
        let doy = f64::from(date.ordinal());
        let day = if lat_deg < 0.0 {
            (doy + 182.0 - 1.0).rem_euclid(365.0) + 1.0
        } else {
            doy
        };
        let abs = lat_deg.abs();
        let amplitude = (0.3 + 0.7 * ((abs - 10.0) / 20.0)).clamp(0.3, 1.0);
        // Coldest around 20 January (day 20), warmest around 20 July.
        let winter = ((day - 20.0) / 365.0 * std::f64::consts::TAU).cos();
        let mean = 1950.0 - 60.0 * (abs - 45.0) + 1800.0 * (1.0 - amplitude);
        let snow_line_m = mean - 1250.0 * amplitude * winter;
        // Snow is fresh early in winter and after cold spells, old in spring.
        let snow_age =
            (0.5 - 0.5 * ((day - 330.0) / 365.0 * std::f64::consts::TAU).cos()).clamp(0.0, 1.0);
        Season {
            day,
            amplitude,
            snow_line_m,
            snow_age,
        }
    }

    /// The canopy of `crop` in a parcel whose calendar is shifted by `shift` days and whose
    /// peak leaf area is scaled by `vigour`; `None` when the parcel is bare soil (ploughed,
    /// sown, harvested).
    pub fn crop(&self, crop: Crop, shift: f64, vigour: f64) -> Option<Canopy> {
        let d = self.day - shift;
        let a = self.amplitude;
        let c = |lai: f64, brown: f64| {
            Some(Canopy {
                lai: lai * vigour,
                brown,
            })
        };
        match crop {
            Crop::WinterWheat => {
                if d < 60.0 {
                    c(0.6 + 0.4 * ramp(d, 0.0, 60.0), 0.1)
                } else if d < 130.0 {
                    c(1.0 + 4.2 * ramp(d, 60.0, 130.0), 0.05)
                } else if d < 160.0 {
                    c(5.2, 0.05 + 0.1 * ramp(d, 130.0, 160.0))
                } else if d < 195.0 {
                    c(
                        5.2 - 2.7 * ramp(d, 160.0, 195.0),
                        0.15 + 0.85 * ramp(d, 160.0, 195.0),
                    )
                } else if d < 250.0 {
                    // stubble
                    c(0.6, 1.0)
                } else if d < 295.0 {
                    None
                } else {
                    c(0.05 + 0.5 * ramp(d, 295.0, 365.0), 0.1)
                }
            }
            Crop::Maize => {
                if !(130.0..285.0).contains(&d) {
                    None
                } else if d < 215.0 {
                    c(0.1 + 4.4 * ramp(d, 130.0, 215.0).powf(1.5), 0.05)
                } else if d < 245.0 {
                    c(4.5, 0.05 + 0.15 * ramp(d, 215.0, 245.0))
                } else {
                    c(
                        4.5 - 2.0 * ramp(d, 245.0, 285.0),
                        0.2 + 0.8 * ramp(d, 245.0, 285.0),
                    )
                }
            }
            Crop::Sunflower => {
                if !(115.0..255.0).contains(&d) {
                    None
                } else if d < 190.0 {
                    c(0.1 + 3.4 * ramp(d, 115.0, 190.0).powf(1.3), 0.05)
                } else {
                    c(
                        3.5 - 1.5 * ramp(d, 190.0, 255.0),
                        0.05 + 0.95 * ramp(d, 190.0, 240.0),
                    )
                }
            }
            Crop::Meadow => {
                let growth = 1.2 + 2.6 * a * bump(d, 140.0, 70.0);
                // mown around day 165, regrowing over a month
                let mown = if (165.0..195.0).contains(&d) {
                    0.35 + 0.65 * ramp(d, 165.0, 195.0)
                } else {
                    1.0
                };
                let dry = 0.1 + 0.5 * a * bump(d, 230.0, 35.0);
                c(growth * mown, dry)
            }
            Crop::Fallow => c(
                0.4 + 0.4 * bump(d, 150.0, 60.0),
                0.3 + 0.4 * a * bump(d, 240.0, 50.0),
            ),
            Crop::Orchard => c(0.4 + 2.1 * bump(d, 190.0, 75.0).max(1.0 - a), 0.1),
        }
    }

    /// The canopy of a forest.
    pub fn forest(&self, forest: Forest, vigour: f64) -> Canopy {
        let a = self.amplitude;
        match forest {
            Forest::Evergreen => Canopy {
                lai: 4.8 * vigour,
                brown: 0.08,
            },
            Forest::Deciduous => {
                let d = self.day;
                let leaves = ramp(d, 95.0, 140.0) * (1.0 - ramp(d, 290.0, 325.0));
                let leaves = 1.0 - a * (1.0 - leaves);
                let autumn = ramp(d, 270.0, 305.0) * (1.0 - ramp(d, 325.0, 340.0));
                Canopy {
                    lai: (0.7 + 4.6 * leaves) * vigour,
                    brown: (0.05 + 0.9 * a * autumn + 0.7 * (1.0 - leaves)).min(1.0),
                }
            }
        }
    }
}

/// 0 before `a`, 1 after `b`, linear between.
fn ramp(x: f64, a: f64, b: f64) -> f64 {
    ((x - a) / (b - a)).clamp(0.0, 1.0)
}

/// A bell of height 1 centred on `centre`, of half-width about `width`.
fn bump(x: f64, centre: f64, width: f64) -> f64 {
    (-((x - centre) / width).powi(2)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(date: &str, lat: f64) -> Season {
        Season::on(NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(), lat)
    }

    #[test]
    fn crops_follow_their_calendars() {
        let may = on("2024-05-20", 44.0);
        let august = on("2024-08-10", 44.0);
        let wheat = |s: &Season| s.crop(Crop::WinterWheat, 0.0, 1.0);
        assert!(wheat(&may).unwrap().lai > 4.0);
        assert!(wheat(&august).unwrap().brown > 0.9, "stubble in August");
        assert!(may.crop(Crop::Maize, 0.0, 1.0).unwrap().lai < 1.5);
        assert!(august.crop(Crop::Maize, 0.0, 1.0).unwrap().lai > 4.0);
        assert!(on("2024-11-10", 44.0).crop(Crop::Maize, 0.0, 1.0).is_none());
        // south of the equator the calendar is half a year on: maize is senescent in early
        // April (October's state in the north) and harvested by late May
        let april = on("2024-04-05", -35.0).crop(Crop::Maize, 0.0, 1.0).unwrap();
        assert!(april.brown > 0.5 && april.lai > 1.5, "{april:?}");
        assert!(on("2024-05-20", -35.0)
            .crop(Crop::Maize, 0.0, 1.0)
            .is_none());
        let forest = |s: &Season| s.forest(Forest::Deciduous, 1.0).lai;
        assert!(forest(&on("2024-07-01", 44.0)) > 4.5 && forest(&on("2024-01-15", 44.0)) < 1.5);
    }

    #[test]
    fn the_snow_line_follows_season_and_latitude() {
        let s = |d: &str, lat: f64| on(d, lat).snow_line_m;
        assert!(s("2024-01-20", 45.0) < 800.0 && s("2024-07-20", 45.0) > 3000.0);
        assert!(
            s("2024-01-20", 70.0) < 0.0,
            "snow down to the sea at 70° N in winter"
        );
        assert!(s("2024-07-20", -45.0) < 800.0, "southern winter");
        assert!(s("2024-01-20", 5.0) > 4000.0, "tropics");
    }
}
