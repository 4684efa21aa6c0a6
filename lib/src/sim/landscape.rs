//! The simulated world: terrain altitude and a reflectance truth (TOA without an atmosphere,
//! surface with one), both continuous functions of map position, so the site-grid truth and
//! what each detector sees come from one source.
//!
//! Land cover: bare soil everywhere, overlaid with soft-edged patches of vegetation (red edge),
//! urban fabric, water in the valleys and snow above a snow line, with a mild texture. Edges are
//! tens of metres wide: sharp enough to look like a landscape, smooth enough that resampling
//! errors measure the processing, not aliasing.

use super::noise::{smoothstep, Field};

/// Number of spectral bands of the truth (the VENµS bands B01..B12).
pub const NB: usize = 12;

/// Reflectance spectra of the five covers, B01..B12 at 420 443 490 555 620 620 667 702 742 782
/// 865 910 nm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spectra {
    pub soil: [f64; NB],
    pub vegetation: [f64; NB],
    pub water: [f64; NB],
    pub urban: [f64; NB],
    pub snow: [f64; NB],
}

/// Typical TOA reflectance spectra (sun at ~45°, mid-latitude atmosphere): the truth when the
/// scene has no atmosphere. The 910 nm band sits in a water-vapour absorption band, hence its
/// dip at TOA.
pub const TOA: Spectra = Spectra {
    soil: [
        0.14, 0.15, 0.17, 0.21, 0.25, 0.25, 0.27, 0.29, 0.30, 0.31, 0.32, 0.22,
    ],
    vegetation: [
        0.09, 0.08, 0.06, 0.09, 0.06, 0.06, 0.04, 0.12, 0.28, 0.33, 0.35, 0.22,
    ],
    water: [
        0.12, 0.10, 0.08, 0.06, 0.04, 0.04, 0.035, 0.03, 0.025, 0.022, 0.02, 0.015,
    ],
    urban: [
        0.16, 0.16, 0.17, 0.18, 0.19, 0.19, 0.20, 0.21, 0.21, 0.22, 0.23, 0.17,
    ],
    snow: [
        0.85, 0.86, 0.86, 0.85, 0.83, 0.83, 0.81, 0.80, 0.78, 0.76, 0.70, 0.50,
    ],
};

/// Surface reflectance spectra: the truth when the scene has an atmosphere. Dark vegetation
/// keeps blue (B03) = 0.5 × red (B07), the relation the L2 aerosol retrieval relies on, and
/// every cover has B11 = B12, the one the water-vapour retrieval relies on; the texture scales
/// all bands alike, so both relations hold everywhere in pure patches.
pub const SURFACE: Spectra = Spectra {
    soil: [
        0.080, 0.090, 0.110, 0.150, 0.190, 0.190, 0.210, 0.230, 0.250, 0.260, 0.280, 0.280,
    ],
    vegetation: [
        0.030, 0.028, 0.022, 0.070, 0.050, 0.050, 0.044, 0.150, 0.330, 0.380, 0.400, 0.400,
    ],
    water: [
        0.060, 0.055, 0.050, 0.040, 0.025, 0.025, 0.020, 0.015, 0.010, 0.008, 0.006, 0.006,
    ],
    urban: [
        0.120, 0.120, 0.130, 0.140, 0.150, 0.150, 0.160, 0.170, 0.170, 0.180, 0.190, 0.190,
    ],
    snow: [
        0.900, 0.900, 0.900, 0.880, 0.860, 0.860, 0.850, 0.840, 0.820, 0.800, 0.750, 0.750,
    ],
};

/// Terrain and land cover of one simulated site.
#[derive(Debug, Clone)]
pub struct Landscape {
    /// Map point the fields are anchored to (keeps field arguments small).
    origin: (f64, f64),
    base_altitude: f64,
    relief: f64,
    snow_line: f64,
    terrain: Field,
    detail: Field,
    vegetation: Field,
    urban: Field,
    water: Field,
    texture: Field,
    /// Centre and radius of a lake, metres.
    lake: Option<((f64, f64), f64)>,
}

impl Landscape {
    /// A landscape for a site of `extent_m` metres around `origin`, with `relief_m` of relief.
    pub fn new(seed: u64, origin: (f64, f64), extent_m: f64, relief_m: f64) -> Self {
        let field = |k: u64, scale: f64, octaves: u32| Field {
            seed: super::noise::mix(seed ^ k.wrapping_mul(0x1234_5678_9abc)),
            scale,
            octaves,
        };
        let mountains = (extent_m / 3.0).clamp(800.0, 8000.0);
        let base_altitude = 150.0;
        Landscape {
            origin,
            base_altitude,
            relief: relief_m,
            snow_line: base_altitude + 0.9 * relief_m,
            terrain: field(1, mountains, 4),
            detail: field(2, 300.0, 2),
            vegetation: field(3, 1500.0, 3),
            urban: field(4, 600.0, 2),
            water: field(5, 2000.0, 2),
            texture: field(6, 150.0, 2),
            lake: None,
        }
    }

    /// Adds a round lake of `radius` metres centred on map point `centre`.
    pub fn with_lake(mut self, centre: (f64, f64), radius: f64) -> Self {
        self.lake = Some((centre, radius));
        self
    }

    /// Terrain altitude at map point (E, N), metres.
    pub fn altitude(&self, e: f64, n: f64) -> f64 {
        let (x, y) = (e - self.origin.0, n - self.origin.1);
        let shape = smoothstep(0.2, 0.8, self.terrain.at(x, y));
        self.base_altitude + self.relief * (0.95 * shape + 0.05 * self.detail.at(x, y))
    }

    /// Land-cover weights at map point (E, N) whose altitude is `h`.
    pub fn cover(&self, e: f64, n: f64, h: f64) -> Cover {
        let (x, y) = (e - self.origin.0, n - self.origin.1);
        let low = 1.0 - smoothstep(0.15, 0.35, (h - self.base_altitude) / self.relief.max(1.0));
        Cover {
            vegetation: smoothstep(0.45, 0.52, self.vegetation.at(x, y)),
            urban: smoothstep(0.66, 0.70, self.urban.at(x, y)),
            water: (smoothstep(0.60, 0.64, self.water.at(x, y)) * low).max(
                self.lake.map_or(0.0, |((cx, cy), r)| {
                    1.0 - smoothstep(r - 10.0, r + 10.0, (e - cx).hypot(n - cy))
                }),
            ),
            snow: smoothstep(self.snow_line - 40.0, self.snow_line + 40.0, h),
            brightness: 1.0 + 0.08 * (self.texture.at(x, y) - 0.5),
        }
    }

    /// Reflectance of the 12 bands with `spectra` at map point (E, N) whose altitude is `h`.
    pub fn reflectance(&self, spectra: &Spectra, e: f64, n: f64, h: f64) -> [f64; NB] {
        let c = self.cover(e, n, h);
        std::array::from_fn(|b| c.reflectance(spectra, b))
    }
}

/// Soft land-cover weights of one ground point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cover {
    pub vegetation: f64,
    pub urban: f64,
    pub water: f64,
    pub snow: f64,
    pub brightness: f64,
}

impl Cover {
    /// Reflectance in band `b` (0-based) with `spectra` ([`TOA`] or [`SURFACE`]): soil, then
    /// vegetation and urban patches, a mild texture, snow above the snow line and water in the
    /// valleys.
    pub fn reflectance(&self, spectra: &Spectra, b: usize) -> f64 {
        let mut r = spectra.soil[b];
        r += self.vegetation * (spectra.vegetation[b] - r);
        r += self.urban * (spectra.urban[b] - r);
        r *= self.brightness;
        r += self.snow * (spectra.snow[b] - r);
        r += self.water * (spectra.water[b] - r);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relief_spans_most_of_the_requested_range_on_a_small_site() {
        let o = (650_000.0, 4_900_000.0);
        let l = Landscape::new(1, o, 2560.0, 800.0);
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for i in 0..128 {
            for j in 0..128 {
                let h = l.altitude(o.0 + 20.0 * i as f64, o.1 - 20.0 * j as f64);
                lo = lo.min(h);
                hi = hi.max(h);
            }
        }
        assert!(hi - lo >= 500.0, "relief {lo}..{hi}");
    }

    #[test]
    fn reflectances_are_physical_and_cover_several_classes() {
        let o = (650_000.0, 4_900_000.0);
        let l = Landscape::new(1, o, 20_000.0, 800.0);
        let mut red_edge = 0;
        let mut dark = 0;
        for i in 0..200 {
            for j in 0..200 {
                let (e, n) = (o.0 + 100.0 * i as f64, o.1 - 100.0 * j as f64);
                let r = l.reflectance(&TOA, e, n, l.altitude(e, n));
                assert!(r.iter().all(|v| (0.0..=1.0).contains(v)));
                red_edge += usize::from(r[10] > 2.0 * r[6]);
                dark += usize::from(r[10] < 0.05);
            }
        }
        assert!(red_edge > 1000, "vegetation {red_edge}");
        assert!(dark > 10, "water {dark}");
    }

    #[test]
    fn surface_spectra_keep_the_relations_the_l2_retrievals_rely_on() {
        let v = &SURFACE.vegetation;
        assert!((v[2] - 0.5 * v[6]).abs() < 1e-12);
        let c = Cover {
            vegetation: 1.0,
            urban: 0.0,
            water: 0.0,
            snow: 0.0,
            brightness: 1.03,
        };
        assert!((c.reflectance(&SURFACE, 2) - 0.5 * c.reflectance(&SURFACE, 6)).abs() < 1e-12);
        for s in [
            &SURFACE.soil,
            &SURFACE.vegetation,
            &SURFACE.water,
            &SURFACE.urban,
            &SURFACE.snow,
        ] {
            assert_eq!(s[10], s[11]);
        }
    }
}
