//! Raw counts to radiance in sensor geometry, then TOA reflectance (domain.md §3).
//!
//! For detector j of band k, with the GIPPs of the band's TDI configuration:
//! - dark current (DARKCU): `Y = X − C_j`;
//! - equalisation (RELSEN triplet a1, a2, Zs — a two-slope response with its knee at Zs):
//!   `S = Y / a1` when `Y ≤ a1·Zs`, else `S = Zs + (Y − a1·Zs) / a2`;
//! - absolute calibration (PHGAIN): `L = S / A_k` (W m⁻² sr⁻¹ µm⁻¹);
//! - defective detectors (OUTORD) are flagged and filled by linear interpolation along the line
//!   between the nearest good detectors;
//! - counts at the top of the 10-bit range are saturated: flagged, never silently trusted;
//! - TOA reflectance `ρ = π·L·d² / (E0_k·cos θs)` (d in AU).

use crate::ee::gipps::{DarkCurrents, OutOfOrderDetectors, RelativeSensitivities};
use crate::error::{Result, VipError};
use crate::mission::venus::{self, DETECTORS};

/// Flag bit of a calibrated sample: the count was saturated.
pub const SATURATED: u8 = 1;
/// Flag bit of a calibrated sample: the detector is defective (value interpolated).
pub const DEFECTIVE: u8 = 2;

/// Radiometric calibration of one band in one TDI configuration.
#[derive(Debug, Clone)]
pub struct BandCalibration {
    pub gain: f64,
    pub dark: Vec<f64>,
    pub relsen: Vec<[f64; 3]>,
    pub defective: Vec<bool>,
}

impl BandCalibration {
    /// Builds the calibration from the band's GIPPs (checked: 5200 detectors each).
    pub fn new(
        gain: f64,
        dark: &DarkCurrents,
        relsen: &RelativeSensitivities,
        outord: &OutOfOrderDetectors,
        tdi: u8,
    ) -> Result<Self> {
        if dark.values.len() != DETECTORS || relsen.values.len() != DETECTORS {
            return Err(VipError::Internal(
                "calibration tables must have 5200 detectors".into(),
            ));
        }
        if gain.is_nan() || gain <= 0.0 {
            return Err(VipError::Processing(format!(
                "band {}: physical gain {gain} is not positive",
                dark.band
            )));
        }
        let mut defective = vec![false; DETECTORS];
        for d in outord.defects(tdi) {
            for j in d.first..=d.last {
                if let Some(f) = defective.get_mut(usize::from(j).saturating_sub(1)) {
                    *f = true;
                }
            }
        }
        Ok(BandCalibration {
            gain,
            dark: dark.values.clone(),
            relsen: relsen.values.clone(),
            defective,
        })
    }

    /// Radiance of count `x` on detector `j` (no flags, no filling).
    pub fn radiance(&self, j: usize, x: f32) -> f64 {
        self.signal(j, f64::from(x)) / self.gain
    }

    /// Equalised signal S (counts of an ideal detector) of count `x` on detector `j`.
    pub fn signal(&self, j: usize, x: f64) -> f64 {
        let y = x - self.dark[j];
        let [a1, a2, zs] = self.relsen[j];
        if y <= a1 * zs {
            y / a1
        } else {
            zs + (y - a1 * zs) / a2
        }
    }

    /// The count detector `j` gives for signal `s`: the inverse of [`BandCalibration::signal`].
    pub fn count(&self, j: usize, s: f64) -> f64 {
        let [a1, a2, zs] = self.relsen[j];
        let y = if s <= zs {
            a1 * s
        } else {
            a1 * zs + a2 * (s - zs)
        };
        y + self.dark[j]
    }

    /// The columns `cols` of lines of `width` samples whose column 0 is detector
    /// `first_detector`, widened to the good columns around the defective ones at their ends:
    /// [`BandCalibration::calibrate`] of the widened columns gives the whole lines' values
    /// there (a defective column is interpolated from the nearest good ones).
    pub fn widened(
        &self,
        cols: std::ops::Range<usize>,
        width: usize,
        first_detector: usize,
    ) -> std::ops::Range<usize> {
        let (mut c0, mut c1) = (cols.start, cols.end.min(width));
        while c0 > 0 && c0 < width && self.defective[first_detector + c0] {
            c0 -= 1;
        }
        while c1 > 0 && c1 < width && self.defective[first_detector + c1 - 1] {
            c1 += 1;
        }
        c0..c1
    }

    /// Calibrates whole image lines: `counts` holds lines of `cols` samples whose column 0 is
    /// detector `first_detector` (integer counts, or the float counts of a product corrected
    /// for stray light). Writes radiance and flags ([`SATURATED`], [`DEFECTIVE`]).
    pub fn calibrate(
        &self,
        counts: &[f32],
        cols: usize,
        first_detector: usize,
        radiance: &mut [f32],
        flags: &mut [u8],
    ) {
        let bad: Vec<bool> = (0..cols)
            .map(|c| self.defective[first_detector + c])
            .collect();
        for ((line, out), fl) in counts
            .chunks_exact(cols)
            .zip(radiance.chunks_exact_mut(cols))
            .zip(flags.chunks_exact_mut(cols))
        {
            for c in 0..cols {
                let x = line[c];
                out[c] = self.radiance(first_detector + c, x) as f32;
                fl[c] = if x >= f32::from(venus::RAW_MAX) {
                    SATURATED
                } else {
                    0
                };
            }
            fill_defective(out, fl, &bad);
        }
    }
}

/// Replaces the samples of defective columns by linear interpolation between the nearest good
/// columns of the line (the nearest one at the image edges) and flags them.
fn fill_defective(line: &mut [f32], flags: &mut [u8], bad: &[bool]) {
    interpolate_defective(line, bad);
    for (f, _) in flags.iter_mut().zip(bad).filter(|(_, &b)| b) {
        *f |= DEFECTIVE;
    }
}

/// Replaces the samples of the columns `bad` marks by linear interpolation between the nearest
/// good columns of the line (the nearest one at the image edges; NaN if none is good).
pub fn interpolate_defective(line: &mut [f32], bad: &[bool]) {
    let n = line.len();
    let mut c = 0;
    while c < n {
        if !bad[c] {
            c += 1;
            continue;
        }
        let start = c;
        while c < n && bad[c] {
            c += 1;
        }
        let left = start.checked_sub(1).map(|l| line[l]);
        let right = (c < n).then(|| line[c]);
        for (k, j) in (start..c).enumerate() {
            line[j] = match (left, right) {
                (Some(a), Some(b)) => {
                    let t = (k + 1) as f32 / (c - start + 1) as f32;
                    a + t * (b - a)
                }
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => f32::NAN,
            };
        }
    }
}

/// TOA reflectance of radiance `l` in band `band` (0-based), sun zenith cosine `cos_sz` and
/// Earth–Sun distance `d_au`.
pub fn toa_reflectance(l: f64, band: usize, cos_sz: f64, d_au: f64) -> f64 {
    std::f64::consts::PI * l * d_au * d_au / (venus::BANDS[band].solar_irradiance * cos_sz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ee::gipps::{Defect, DefectKind, TdiDefects};
    use crate::ee::naming::TdiSet;

    fn cal() -> BandCalibration {
        let tdi = TdiSet::new(&[8]).unwrap();
        let dark = DarkCurrents {
            band: "B03".into(),
            tdi,
            values: vec![20.0; DETECTORS],
            spikes: vec![],
        };
        let relsen = RelativeSensitivities {
            band: "B03".into(),
            tdi,
            values: (0..DETECTORS)
                .map(|j| [1.0 + j as f64 * 1e-5, 0.98, 600.0])
                .collect(),
        };
        let outord = OutOfOrderDetectors {
            band: "B03".into(),
            configurations: vec![TdiDefects {
                tdi: 8,
                defects: vec![Defect {
                    first: 12,
                    last: 13,
                    kind: DefectKind::Blind,
                }],
            }],
        };
        BandCalibration::new(2.0, &dark, &relsen, &outord, 8).unwrap()
    }

    #[test]
    fn inverts_the_simulated_detector_response() {
        // The simulator's camera (its own forward code) against this inverse, across the knee.
        let sim = &crate::sim::instrument::draw(3, 0..DETECTORS)[2];
        let tdi = TdiSet::new(&[8]).unwrap();
        let dark = DarkCurrents {
            band: "B03".into(),
            tdi,
            values: sim.dark.clone(),
            spikes: vec![],
        };
        let relsen = RelativeSensitivities {
            band: "B03".into(),
            tdi,
            values: sim
                .relsen
                .iter()
                .map(|&(a1, a2, zs)| [a1, a2, zs])
                .collect(),
        };
        let none = OutOfOrderDetectors {
            band: "B03".into(),
            configurations: vec![],
        };
        let c = BandCalibration::new(sim.gain, &dark, &relsen, &none, 8).unwrap();
        for j in [10, 2600, 5100] {
            for s in [5.0, 300.0, 599.0, 640.0, 950.0] {
                let x = sim.response(j, s);
                assert!((c.signal(j, x) - s).abs() < 1e-9, "detector {j}, S {s}");
                assert!((c.radiance(j, x as f32) * sim.gain - s).abs() < 2e-3 * sim.gain.max(1.0));
            }
        }
    }

    #[test]
    fn defective_detectors_are_filled_and_flagged_saturation_is_flagged() {
        let c = cal();
        // Columns 0..20 are detectors 0..20; detectors 11 and 12 (0-based) are blind.
        let counts: Vec<f32> = (0..20)
            .map(|i| {
                if i == 11 || i == 12 {
                    20.0
                } else if i == 5 {
                    1023.0
                } else {
                    100.0 + 3.0 * i as f32
                }
            })
            .collect();
        let mut rad = vec![0f32; 20];
        let mut fl = vec![0u8; 20];
        c.calibrate(&counts, 20, 0, &mut rad, &mut fl);
        assert_eq!(fl[5], SATURATED);
        assert_eq!(fl[11], DEFECTIVE);
        assert_eq!(fl[12], DEFECTIVE);
        assert_eq!(fl[10], 0);
        let (a, b) = (rad[10], rad[13]);
        assert!((rad[11] - (a + (b - a) / 3.0)).abs() < 1e-4);
        assert!((rad[12] - (a + 2.0 * (b - a) / 3.0)).abs() < 1e-4);
    }

    #[test]
    fn widened_columns_calibrate_as_whole_lines() {
        let c = cal();
        // detectors 11 and 12 (0-based) are blind; columns 0..30 are detectors 0..30, two
        // lines of counts rising across them
        let counts: Vec<f32> = (0..60).map(|i| 100.0 + (i % 30) as f32).collect();
        let (mut rad, mut fl) = (vec![0f32; 60], vec![0u8; 60]);
        c.calibrate(&counts, 30, 0, &mut rad, &mut fl);
        for (run, want) in [
            (0..11, 0..11),
            (0..12, 0..14),
            (12..20, 10..20),
            (11..12, 10..14),
            (13..30, 13..30),
            (20..40, 20..30),
        ] {
            let w = c.widened(run.clone(), 30, 0);
            assert_eq!(w, want, "{run:?}");
            let part: Vec<f32> = counts
                .chunks(30)
                .flat_map(|line| line[w.clone()].to_vec())
                .collect();
            let n = w.len();
            let (mut r, mut f) = (vec![0f32; part.len()], vec![0u8; part.len()]);
            c.calibrate(&part, n, w.start, &mut r, &mut f);
            for line in 0..2 {
                for col in run.start..run.end.min(30) {
                    let k = line * n + col - w.start;
                    assert_eq!(r[k], rad[line * 30 + col], "{run:?} {col}");
                    assert_eq!(f[k], fl[line * 30 + col], "{run:?} {col}");
                }
            }
        }
    }

    #[test]
    fn signal_and_count_are_inverse() {
        let c = cal();
        for x in [20.0, 100.5, 620.0, 1023.0] {
            assert!((c.count(77, c.signal(77, x)) - x).abs() < 1e-9);
        }
    }

    #[test]
    fn reflectance_closed_form() {
        // ρ = π L d² / (E0 cos θs): L = 100, B01 E0 = 1611.4, θs = 60°, d = 1.
        let r = toa_reflectance(100.0, 0, 0.5, 1.0);
        assert!((r - std::f64::consts::PI * 100.0 / (1611.4 * 0.5)).abs() < 1e-12);
    }
}
