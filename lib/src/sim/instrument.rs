//! The simulated camera: calibration tables drawn once per seed (what the GIPPs then say) and
//! the forward radiometric model from TOA reflectance to raw counts.
//!
//! Forward model of one detector j of band k (the L1 inverts it):
//! - radiance `L = ρ · E0_k · cos θs / (π · d²)` (d: Earth–Sun distance in AU),
//! - ideal signal `S = A_k · L` (PHGAIN physical gain, counts per W m⁻² sr⁻¹ µm⁻¹),
//! - detector response, two slopes with a knee (RELSEN triplet a1, a2, Zs):
//!   `Y = a1 · S` for `S ≤ Zs`, else `a1 · Zs + a2 · (S − Zs)`,
//! - counts `X = round(Y + C_j + ε)`, C_j the dark current (DARKCU), ε ~ N(0, σ² = A + B·Y),
//!   clipped to [0, 1023]; 1023 is saturation.
//! - defective detectors (OUTORD): BLIND ones see no light (X = C_j + ε), NOISY ones have
//!   σ = 25 counts.

use crate::mission::venus::{self, DETECTORS};

use super::noise::gaussian;

/// Kind of a defective detector (OUTORD `Defect_Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    Blind,
    Noisy,
}

/// Calibration of one band: what the GIPPs of the simulated scene hold.
#[derive(Debug, Clone)]
pub struct BandCalibration {
    /// PHGAIN physical gain A_k.
    pub gain: f64,
    /// DARKCU dark current per detector, counts.
    pub dark: Vec<f64>,
    /// RELSEN (a1, a2, Zs) per detector.
    pub relsen: Vec<(f64, f64, f64)>,
    /// OUTORD defective detectors (0-based index, kind).
    pub defects: Vec<(usize, Defect)>,
    /// VIEDIR (tan ψX, tan ψY) per detector.
    pub view_dirs: Vec<(f64, f64)>,
}

/// Noise model σ² = A + B·Y, counts² (small: a quiet, well-calibrated camera).
pub const NOISE_A: f64 = 0.04;
/// See [`NOISE_A`].
pub const NOISE_B: f64 = 0.0002;

/// Along-track look direction tan ψY of each band: tri-detector 1 (B01 B02 B05) looks forward,
/// 4 (B03 B04 B06) backward; B05/B06 at the two ends form the 0.025 base-to-height stereo pair.
pub const ALONG_TRACK_TAN: [f64; 12] = [
    0.0115, 0.0105, -0.0105, -0.0115, 0.0125, -0.0125, -0.002, -0.003, -0.004, 0.004, 0.003, 0.002,
];

/// Draws the calibration of the 12 bands. `detectors` is the index range of the array that
/// the images use: defects are placed there so that they matter.
pub fn draw(seed: u64, detectors: std::ops::Range<usize>) -> Vec<BandCalibration> {
    let k = venus::GROUND_SAMPLING_M / venus::ORBIT_ALTITUDE_M;
    venus::BANDS
        .iter()
        .enumerate()
        .map(|(b, band)| {
            let g = |j: usize, what: i64| gaussian(seed, b as i64, j as i64, what);
            let dark = (0..DETECTORS)
                .map(|j| (20.0 + 2.0 * g(j, 1) + 1.5 * (j as f64 / 400.0).sin()).max(0.0))
                .collect();
            let relsen = (0..DETECTORS)
                .map(|j| {
                    let a1 = 1.0 + 0.03 * g(j, 2);
                    let a2 = a1 * (0.98 + 0.005 * g(j, 3));
                    (a1, a2, 600.0 + 30.0 * g(j, 4))
                })
                .collect();
            let view_dirs = (0..DETECTORS)
                .map(|j| {
                    let u = (j as f64 - 2599.5) / 2600.0;
                    let x = (j as f64 - 2599.5) * k * (1.0 + 2e-3 * u * u) + 1e-6 * b as f64;
                    (x, ALONG_TRACK_TAN[b] + 2e-6 * u * u)
                })
                .collect();
            let span = detectors.end.saturating_sub(detectors.start).max(1);
            let pick = |what: i64| {
                let h = super::noise::hash(seed, b as i64, what, 77);
                detectors.start + 2 + (h as usize) % span.saturating_sub(4).max(1)
            };
            let (blind, noisy) = (pick(1), pick(2));
            let defects = if blind == noisy {
                vec![(blind, Defect::Blind)]
            } else {
                vec![
                    (
                        blind.min(noisy),
                        if blind < noisy {
                            Defect::Blind
                        } else {
                            Defect::Noisy
                        },
                    ),
                    (
                        blind.max(noisy),
                        if blind < noisy {
                            Defect::Noisy
                        } else {
                            Defect::Blind
                        },
                    ),
                ]
            };
            BandCalibration {
                // ρ = 1 under a sun 20° from zenith at 1 AU gives 1000 counts.
                gain: 1000.0 * std::f64::consts::PI
                    / (band.solar_irradiance * 20f64.to_radians().cos()),
                dark,
                relsen,
                defects,
                view_dirs,
            }
        })
        .collect()
}

impl BandCalibration {
    /// Raw count of detector `j` for TOA reflectance `rho`; `sun` is cos θs / d²; `key`
    /// identifies the sample for its noise draw.
    pub fn count(&self, band: usize, j: usize, rho: f64, sun: f64, key: (u64, i64, i64)) -> u16 {
        self.count_of_signal(band, j, self.signal(band, rho, sun), key)
    }

    /// Ideal equalised signal S = A_k · L of TOA reflectance `rho` (`sun` = cos θs / d²).
    pub fn signal(&self, band: usize, rho: f64, sun: f64) -> f64 {
        let e0 = venus::BANDS[band].solar_irradiance;
        self.gain * rho * e0 * sun / std::f64::consts::PI
    }

    /// What detector `j` makes of the signal `s` reaching it: its response, dark current and
    /// noise, rounded and clipped to the 10-bit range (defects applied).
    pub fn count_of_signal(&self, band: usize, j: usize, s: f64, key: (u64, i64, i64)) -> u16 {
        let x = self.response(j, s) + self.noise(band, j, s, key);
        x.round().clamp(0.0, f64::from(venus::RAW_MAX)) as u16
    }

    /// Noise-free count of signal `s` on detector `j` (blind detectors see no light).
    pub fn response(&self, j: usize, s: f64) -> f64 {
        let s = if self.defect(j) == Some(Defect::Blind) {
            0.0
        } else {
            s
        };
        let (a1, a2, zs) = self.relsen[j];
        let y = if s <= zs {
            a1 * s
        } else {
            a1 * zs + a2 * (s - zs)
        };
        y + self.dark[j]
    }

    fn noise(&self, band: usize, j: usize, s: f64, key: (u64, i64, i64)) -> f64 {
        let y = (self.response(j, s) - self.dark[j]).max(0.0);
        let sigma = match self.defect(j) {
            Some(Defect::Noisy) => 25.0,
            _ => (NOISE_A + NOISE_B * y).sqrt(),
        };
        sigma * gaussian(key.0, band as i64, key.1, key.2)
    }

    fn defect(&self, j: usize) -> Option<Defect> {
        self.defects.iter().find(|(d, _)| *d == j).map(|(_, k)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_closed_form_without_noise_effects() {
        let cal = draw(1, 2000..2600);
        let c = &cal[10];
        // A working detector (defects are elsewhere tested).
        let j = (2300..2600)
            .find(|j| c.defects.iter().all(|(d, _)| d != j))
            .unwrap();
        let sun = 0.7;
        let rho = 0.3;
        let l = rho * venus::BANDS[10].solar_irradiance * sun / std::f64::consts::PI;
        let s = c.gain * l;
        let (a1, a2, zs) = c.relsen[j];
        let y = if s <= zs {
            a1 * s
        } else {
            a1 * zs + a2 * (s - zs)
        };
        let expect = y + c.dark[j];
        let mean = (0..2000)
            .map(|i| f64::from(c.count(10, j, rho, sun, (9, i, 0))))
            .sum::<f64>()
            / 2000.0;
        assert!((mean - expect).abs() < 0.1, "{mean} vs {expect}");
    }

    #[test]
    fn bright_targets_saturate_and_blind_detectors_see_dark() {
        let cal = draw(1, 2000..2600);
        assert_eq!(cal[0].count(0, 2100, 1.5, 1.0, (1, 0, 0)), venus::RAW_MAX);
        let (blind, _) = *cal[3]
            .defects
            .iter()
            .find(|(_, k)| *k == Defect::Blind)
            .unwrap();
        let x = cal[3].count(3, blind, 0.8, 1.0, (1, 0, 0));
        assert!((f64::from(x) - cal[3].dark[blind]).abs() < 2.0);
        assert!(cal
            .iter()
            .all(|c| c.defects.iter().all(|(d, _)| (2000..2600).contains(d))));
    }

    #[test]
    fn same_seed_same_calibration() {
        let (a, b) = (draw(5, 0..5200), draw(5, 0..5200));
        assert_eq!(a[7].dark, b[7].dark);
        assert_ne!(a[7].dark, draw(6, 0..5200)[7].dark);
    }
}
