//! Deterministic random fields: value noise on a hashed lattice, summed over octaves, and a
//! per-sample Gaussian draw keyed by position. Every value depends only on the seed and the
//! coordinates, never on evaluation order, so any thread layout gives the same bytes (the
//! per-thread memo of lattice cells only spares recomputing them).

/// SplitMix64 finaliser: a well-mixed 64-bit hash.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a key tuple.
pub fn hash(seed: u64, a: i64, b: i64, c: i64) -> u64 {
    mix(mix(mix(seed ^ a as u64).wrapping_add(b as u64)).wrapping_add(c as u64))
}

/// Uniform in [0, 1) from a hash.
pub fn unit(h: u64) -> f64 {
    // through i64: the same value, one instruction instead of a u64 conversion sequence
    (h >> 11) as i64 as f64 * (1.0 / (1u64 << 53) as f64)
}

/// ⌊x⌋ as an integer (|x| < 2⁶³), without the libm call `f64::floor` is on x86-64.
pub fn floor(x: f64) -> i64 {
    let i = x as i64;
    i - i64::from(x < i as f64)
}

/// Standard normal draw keyed by (seed, a, b, c) (Box–Muller on two hashed uniforms).
pub fn gaussian(seed: u64, a: i64, b: i64, c: i64) -> f64 {
    let h = hash(seed, a, b, c);
    let u1 = unit(h).max(1e-300);
    let u2 = unit(mix(h));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A smooth random field with values in [0, 1]: `octaves` of value noise with quintic
/// interpolation (C² continuous), the first with feature size `scale` metres.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub seed: u64,
    pub scale: f64,
    pub octaves: u32,
}

impl Field {
    /// Field value at map point (x, y).
    pub fn at(&self, x: f64, y: f64) -> f64 {
        CORNERS.with(|memo| {
            let memo = &mut *memo.borrow_mut();
            let (mut sum, mut amp, mut norm, mut f) = (0.0, 1.0, 0.0, 1.0 / self.scale);
            for o in 0..self.octaves {
                sum += amp * self.lattice(memo, x * f, y * f, u64::from(o));
                norm += amp;
                amp *= 0.5;
                f *= 2.0;
            }
            sum / norm
        })
    }

    /// Bounds of the field over the disc of radius `r` around (x, y): its value there ± its
    /// largest possible change (an octave's lattice values lie in [0, 1] and the quintic's
    /// slope is at most 1.875, so its gradient is at most 1.875·√2 per cell).
    pub fn bounds(&self, x: f64, y: f64, r: f64) -> (f64, f64) {
        let (mut slope, mut amp, mut norm, mut f) = (0.0, 1.0, 0.0, 1.0 / self.scale);
        for _ in 0..self.octaves {
            slope += amp * f;
            norm += amp;
            amp *= 0.5;
            f *= 2.0;
        }
        let d = 1.875 * std::f64::consts::SQRT_2 * slope / norm * r + 1e-9;
        let v = self.at(x, y);
        (v - d, v + d)
    }

    fn lattice(&self, memo: &mut Corners, x: f64, y: f64, octave: u64) -> f64 {
        let (ix, iy) = (floor(x), floor(y));
        let (u, v) = (fade(x - ix as f64), fade(y - iy as f64));
        let s = self.seed.wrapping_mul(31).wrapping_add(octave);
        // the cell's corner values, from the memo when the last sample of this lattice fell in
        // the same cell (most do: samples are metres apart, cells tens to thousands)
        let slot = &mut memo[(s.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize];
        if slot.0 != (s, ix, iy) {
            // hash(s, i, j, 0x5eed) with the first round shared by the corners of a column
            let (c0, c1) = (mix(s ^ ix as u64), mix(s ^ (ix + 1) as u64));
            let g = |c: u64, j: i64| unit(mix(mix(c.wrapping_add(j as u64)).wrapping_add(0x5eed)));
            *slot = (
                (s, ix, iy),
                [g(c0, iy), g(c1, iy), g(c0, iy + 1), g(c1, iy + 1)],
            );
        }
        let [a, b, c, d] = slot.1;
        let top = a * (1.0 - u) + b * u;
        let bottom = c * (1.0 - u) + d * u;
        top * (1.0 - v) + bottom * v
    }
}

/// Per thread, the corner values of the last cell sampled on each lattice (256 slots, by
/// lattice key): a memo, so the values are those computed afresh whatever the thread layout.
type Corners = [((u64, i64, i64), [f64; 4]); 256];

thread_local! {
    static CORNERS: std::cell::RefCell<Corners> =
        const { std::cell::RefCell::new([((0, i64::MIN, i64::MIN), [0.0; 4]); 256]) };
}

fn fade(t: f64) -> f64 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

/// Smooth step from 0 (x ≤ a) to 1 (x ≥ b).
pub fn smoothstep(a: f64, b: f64, x: f64) -> f64 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_deterministic_bounded_and_smooth() {
        let f = Field {
            seed: 7,
            scale: 1000.0,
            octaves: 4,
        };
        let mut lo: f64 = 1.0;
        let mut hi: f64 = 0.0;
        for i in 0..2000 {
            let (x, y) = (i as f64 * 37.3, i as f64 * -11.9);
            let v = f.at(x, y);
            assert_eq!(v, f.at(x, y));
            lo = lo.min(v);
            hi = hi.max(v);
            // 1 m apart, the field moves by far less than its range.
            assert!((f.at(x + 1.0, y) - v).abs() < 0.01);
        }
        assert!(lo >= 0.0 && hi <= 1.0 && hi - lo > 0.3, "{lo} {hi}");
        let g = Field { seed: 8, ..f };
        assert_ne!(f.at(123.0, 456.0), g.at(123.0, 456.0));
    }

    #[test]
    fn gaussian_draws_have_unit_variance() {
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|i| gaussian(3, i, 1, 2)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }
}
