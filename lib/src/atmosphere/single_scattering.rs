//! The single-scattering aerosol term of the path reflectance, interpolated apart.
//!
//! Near the hot spot (θs = θv, φ = 0) and the glory of large droplets, the aerosol's path
//! reflectance follows its phase function at the scattering angle Θ, whose backscatter peak is
//! a few degrees wide: narrower than any affordable zenith step of the LUT. So the L2 does what
//! radiative-transfer codes do with sharp phase functions (Nakajima and Tanaka's TMS
//! correction): it interpolates the path reflectance minus its single-scattering aerosol term,
//! which is smooth, and adds that term back at the pixel's own Θ:
//!
//! ρ₁ = ω·P(Θ) · τa · (1 − e^(−τ·m)) / (4·(μs + μv)·τ),  m = 1/μs + 1/μv,
//!
//! single scattering in a layer where the aerosol (τa) mixes with the Rayleigh (τ = τa + τR).
//! τ comes from the L2DIRT table at the zenith, e^(−τ·m) is the product of the direct
//! transmissions; ω·P(Θ) is the L2PHAS table, measured by `scripts/sixs/make_luts.py` on 6S's
//! own path reflectance at low AOT (6S prints a Mie phase function whose peaks are sharper than
//! its successive orders resolve). At the nodes the two parts add up to the table exactly;
//! between them only the smooth part is interpolated.

use super::table::Table;

/// ω·P over the scattering angle, and the path table minus ρ₁ at its nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct SingleScattering {
    /// ω·P(Θ), Θ in degrees (L2PHAS).
    pub phase: Table,
    /// ρ_path − ρ₁ over the path table's axes.
    pub rest: Table,
}

/// What ρ₁ needs besides the phase function: the geometry and the column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub sza: f64,
    pub vza: f64,
    pub raa: f64,
    /// Direct transmissions on the sun and view paths.
    pub t_down_dir: f64,
    pub t_up_dir: f64,
    /// Optical depth of the whole column and of its Rayleigh part.
    pub tau: f64,
    pub tau_r: f64,
}

/// Scattering angle (degrees) of a geometry; relative azimuth 0 is backscattering.
pub fn scattering_angle(sza: f64, vza: f64, raa: f64) -> f64 {
    let (s, v, p) = (sza.to_radians(), vza.to_radians(), raa.to_radians());
    (-(s.cos() * v.cos()) - s.sin() * v.sin() * p.cos())
        .clamp(-1.0, 1.0)
        .acos()
        .to_degrees()
}

/// ρ₁ for the single-scattering albedo times phase function `omega_p` at the column's angle.
pub fn term(omega_p: f64, c: &Column) -> f64 {
    let tau_a = c.tau - c.tau_r;
    if tau_a <= 0.0 || c.tau <= 0.0 {
        return 0.0;
    }
    let (mus, muv) = (c.sza.to_radians().cos(), c.vza.to_radians().cos());
    omega_p * tau_a * (1.0 - c.t_down_dir * c.t_up_dir) / (4.0 * (mus + muv) * c.tau)
}

/// Optical depth of the column from a direct transmission `t` at zenith angle `zenith`.
pub fn optical_depth(t: f64, zenith: f64) -> f64 {
    -zenith.to_radians().cos() * t.max(f64::MIN_POSITIVE).ln()
}

impl SingleScattering {
    /// Splits `path` (axes θs, θv, φ, altitude, AOT) with the phase function `phase` and the
    /// direct transmissions `dirt` (zenith, altitude, AOT).
    pub fn new(path: &Table, dirt: &Table, phase: Table) -> SingleScattering {
        let z0 = dirt.axes[0].values[0];
        let shape = path.shape();
        let mut rest = path.clone();
        let mut node = vec![0; shape.len()];
        for (flat, v) in rest.data.iter_mut().enumerate() {
            let mut r = flat;
            for d in (0..shape.len()).rev() {
                node[d] = r % shape[d];
                r /= shape[d];
            }
            let x: Vec<f64> = node
                .iter()
                .zip(&path.axes)
                .map(|(&i, a)| a.values[i])
                .collect();
            let (alt, aot) = (x[3], x[4]);
            let t = |zenith: f64, aot: f64| dirt.sample(&[zenith, alt, aot]).value;
            let c = Column {
                sza: x[0],
                vza: x[1],
                raa: x[2],
                t_down_dir: t(x[0], aot),
                t_up_dir: t(x[1], aot),
                tau: optical_depth(t(z0, aot), z0),
                tau_r: optical_depth(t(z0, 0.0), z0),
            };
            let h = term(
                phase.sample(&[scattering_angle(x[0], x[1], x[2])]).value,
                &c,
            );
            *v = (f64::from(*v) - h) as f32;
        }
        SingleScattering { phase, rest }
    }

    /// The scattering angles `path` (θs, θv, φ axes first) meets: the phase table must span
    /// them.
    pub fn angles_needed(path: &Table) -> (f64, f64) {
        let (s, v, p) = (
            &path.axes[0].values,
            &path.axes[1].values,
            &path.axes[2].values,
        );
        let mut lo = 180.0f64;
        let mut hi = 0.0f64;
        for &a in s {
            for &b in v {
                for &c in p {
                    let t = scattering_angle(a, b, c);
                    lo = lo.min(t);
                    hi = hi.max(t);
                }
            }
        }
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scattering_angles_of_the_hot_spot_the_principal_plane_and_the_nadir() {
        assert!((scattering_angle(30.0, 30.0, 0.0) - 180.0).abs() < 1e-6);
        assert!((scattering_angle(24.0, 10.0, 0.0) - 166.0).abs() < 1e-9);
        assert!((scattering_angle(50.0, 70.0, 180.0) - 60.0).abs() < 1e-9);
        // 6S prints 154.11 for sun 24°, view 10°, relative azimuth 90°
        assert!((scattering_angle(24.0, 10.0, 90.0) - 154.11).abs() < 0.005);
    }

    #[test]
    fn the_term_is_thin_layer_single_scattering_and_vanishes_without_aerosol() {
        // thin layer: ρ₁ → ω·P·τa / (4·μs·μv)
        let c = Column {
            sza: 30.0,
            vza: 10.0,
            raa: 0.0,
            t_down_dir: (-1e-4f64 / 30f64.to_radians().cos()).exp(),
            t_up_dir: (-1e-4f64 / 10f64.to_radians().cos()).exp(),
            tau: 1e-4,
            tau_r: 0.0,
        };
        let thin = 0.3 * 1e-4 / (4.0 * 30f64.to_radians().cos() * 10f64.to_radians().cos());
        assert!((term(0.3, &c) / thin - 1.0).abs() < 1e-3);
        let c = Column { tau_r: 1e-4, ..c };
        assert_eq!(term(0.3, &c), 0.0);
        assert!((optical_depth((-0.5f64 / 0.5).exp(), 60.0) - 0.5).abs() < 1e-12);
    }
}
