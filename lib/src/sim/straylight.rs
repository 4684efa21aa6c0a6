//! The simulated camera's stray light: filters with a core and a long far-field tail in each
//! band (a few percent of the energy), and cross-talk from a neighbouring band of the same
//! tri-detector, written as STRLGT GIPPs and applied exactly (full resolution) to the signal.

use crate::ee::strlgt::{
    ColRange, Kernel, StrayLightFilters, Type1Filter, Type2Filter, Type2Strip,
};
use crate::mission::venus::{self, DETECTORS};

/// Size of the in-band filters (odd): the far field reaches 128 pixels (680 m).
pub const TYPE1_SIZE: usize = 257;
/// Size of the cross-talk filters.
pub const TYPE2_SIZE: usize = 33;

/// An in-band filter: an exponential core (1 % of the energy) plus a Lorentzian-like far field
/// (2.5 %), scaled by `scale`; the centre weight is zero (the direct signal is not stray light).
pub fn type1_kernel(scale: f64) -> Kernel {
    radial(
        TYPE1_SIZE,
        |r| {
            if r == 0.0 {
                (0.0, 0.0)
            } else {
                ((-r / 1.5).exp(), 1.0 / (1.0 + (r / 25.0).powi(2)).powf(1.5))
            }
        },
        [0.010 * scale, 0.025 * scale],
    )
}

/// A cross-talk filter: a Gaussian ghost (σ = 3 pixels) of unit energy.
pub fn type2_kernel() -> Kernel {
    radial(
        TYPE2_SIZE,
        |r| ((-0.5 * (r / 3.0).powi(2)).exp(), 0.0),
        [1.0, 0.0],
    )
}

/// A kernel from two radial profiles, each normalised to its target energy.
fn radial(n: usize, profile: impl Fn(f64) -> (f64, f64), energy: [f64; 2]) -> Kernel {
    let c = (n / 2) as f64;
    let values: Vec<(f64, f64)> = (0..n * n)
        .map(|i| profile(((i / n) as f64 - c).hypot((i % n) as f64 - c)))
        .collect();
    let sums = values
        .iter()
        .fold((0.0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1));
    let w = |e: f64, s: f64| if s > 0.0 { e / s } else { 0.0 };
    let (w0, w1) = (w(energy[0], sums.0), w(energy[1], sums.1));
    Kernel {
        rows: n,
        cols: n,
        data: values
            .iter()
            .map(|v| (w0 * v.0 + w1 * v.1) as f32)
            .collect(),
    }
}

/// The neighbour in the same tri-detector that leaks into band `b` (0-based).
fn crosstalk_source(b: usize) -> usize {
    let det = venus::BANDS[b].detector;
    let same: Vec<usize> = (0..12)
        .filter(|&k| venus::BANDS[k].detector == det)
        .collect();
    let i = same
        .iter()
        .position(|&k| k == b)
        .expect("band in its detector");
    same[(i + 1) % same.len()]
}

/// The filters of the 12 bands: two type-1 strips (the two halves of the array, the second
/// 10 % stronger) and one cross-talk source per band.
pub fn filters() -> Vec<StrayLightFilters> {
    let half = DETECTORS / 2;
    let (left, right) = (
        ColRange {
            first: 0,
            last: half - 1,
        },
        ColRange {
            first: half,
            last: DETECTORS - 1,
        },
    );
    (0..12)
        .map(|b| StrayLightFilters {
            band: venus::BANDS[b].code.to_string(),
            type1_overlap: 64,
            type1: vec![
                Type1Filter {
                    cols: left,
                    kernel: type1_kernel(1.0),
                },
                Type1Filter {
                    cols: right,
                    kernel: type1_kernel(1.1),
                },
            ],
            type2: vec![Type2Filter {
                source: venus::BANDS[crosstalk_source(b)].code.to_string(),
                kernel: type2_kernel(),
                overlap: 32,
                strips: vec![
                    Type2Strip {
                        cols: left,
                        factor: 0.010,
                        shift: -3,
                    },
                    Type2Strip {
                        cols: right,
                        factor: 0.012,
                        shift: 2,
                    },
                ],
            }],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energies_and_shapes() {
        let k = type1_kernel(1.0);
        assert!((k.energy() - 0.035).abs() < 1e-6);
        let c = TYPE1_SIZE / 2;
        // The far field still holds energy beyond 20 pixels.
        let far: f64 = (0..TYPE1_SIZE * TYPE1_SIZE)
            .filter(|i| {
                ((i / TYPE1_SIZE) as f64 - c as f64).hypot((i % TYPE1_SIZE) as f64 - c as f64)
                    > 20.0
            })
            .map(|i| f64::from(k.data[i]))
            .sum();
        assert!(far > 0.01, "{far}");
        assert!((type2_kernel().energy() - 1.0).abs() < 1e-6);
        let f = filters();
        assert_eq!(f[4].type2[0].source, "B01");
        assert!(f.iter().all(|b| b.type2[0].source != b.band));
    }
}
