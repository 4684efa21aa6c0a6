//! The single-scattering aerosol term of the path reflectance, interpolated apart.
//!
//! Near the hot spot (θs = θv, φ = 0) and the glory of large droplets, the aerosol's path
//! reflectance follows its phase function at the scattering angle Θ, whose backscatter peak is
//! a few degrees wide: narrower than any affordable zenith step of the LUT. So the L2 does what
//! radiative-transfer codes do with sharp phase functions (Nakajima and Tanaka's TMS
//! correction): across the angles it interpolates the path reflectance minus its
//! single-scattering aerosol term, which is smooth, and adds that term back at the pixel's own
//! Θ. Altitude and AOT are interpolated first, plainly, at each angular node of the stencil;
//! the split only concerns the angles, where the peak is.
//!
//! ρ₁ = ω·P(Θ) · τa · (1 − e^(−τ·m)) / (4·(μs + μv)·τ),  m = 1/μs + 1/μv,
//!
//! single scattering by the aerosol (τa) in a layer where it mixes uniformly with the Rayleigh
//! (τ = τa + τR). τ and τR come from the L2DIRT table at the zenith (at the AOT and without
//! aerosol: τ = −μ·ln T_dir); ω·P(Θ) is the L2PHAS table, measured by
//! `scripts/sixs/make_luts.py` on 6S's own path reflectance at low AOT with the same formula
//! (6S prints a Mie phase function whose peaks are sharper than its successive orders
//! resolve). The formula only has to carry the peak's shape: at the nodes the two parts add up
//! to the table exactly whatever it is, and between them only their smooth difference is
//! interpolated. (Exponential profiles, the
//! aerosol's scale height 2 km under the Rayleigh's 8 km, fit 6S's continental hot spot less
//! well: 0.0009 against 0.0006 at most on the probe's cases.)

use super::table::{weights, Table};

/// ω·P over the scattering angle, and its value at each angular node of the path table.
#[derive(Debug, Clone, PartialEq)]
pub struct SingleScattering {
    /// ω·P(Θ), Θ in degrees (L2PHAS).
    pub phase: Table,
    /// ω·P at the (θs, θv, φ) nodes of the path table, in its order.
    at_nodes: Vec<f64>,
}

/// What ρ₁ needs besides the phase function: the geometry and the column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Cosines of the sun and view zenith angles.
    pub mus: f64,
    pub muv: f64,
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

/// ρ₁ / (ω·P): the part of the single-scattering term that does not depend on Θ.
pub fn factor(c: &Column) -> f64 {
    let tau_a = c.tau - c.tau_r;
    if tau_a <= 0.0 {
        return 0.0;
    }
    let m = 1.0 / c.mus + 1.0 / c.muv;
    tau_a * -(-c.tau * m).exp_m1() / (4.0 * (c.mus + c.muv) * c.tau)
}

/// The single-scattering term at one geometry, for any column: what
/// [`SingleScattering::at_angles`] computes once.
#[derive(Debug, Clone, PartialEq)]
pub struct AtAngles {
    /// Per (θs, θv) node of the interpolation stencil: μs, μv, and ω·P at its nodes weighted
    /// as the path table's angles are.
    nodes: Vec<(f64, f64, f64)>,
    /// ω·P at the geometry's own Θ, and its μs and μv.
    phase: f64,
    mus: f64,
    muv: f64,
}

impl AtAngles {
    /// What to add to the path table's interpolation across the angles for the column optical
    /// depths `tau` and `tau_r`: ρ₁ at the geometry's own Θ less ρ₁ interpolated from the
    /// angular nodes.
    pub fn correction(&self, tau: f64, tau_r: f64) -> f64 {
        let column = |mus: f64, muv: f64| Column {
            mus,
            muv,
            tau,
            tau_r,
        };
        let at_nodes: f64 = self
            .nodes
            .iter()
            .map(|&(mus, muv, phase)| phase * factor(&column(mus, muv)))
            .sum();
        self.phase * factor(&column(self.mus, self.muv)) - at_nodes
    }
}

impl SingleScattering {
    /// The phase function `phase` of a path table `path` (axes θs, θv, φ, altitude, AOT).
    pub fn new(path: &Table, phase: Table) -> SingleScattering {
        let at_nodes = node_angles(path)
            .map(|t| phase.sample(&[t]).value)
            .collect();
        SingleScattering { phase, at_nodes }
    }

    /// The term of `path` (axes θs, θv, φ, altitude, AOT) at the angles `x` (θs, θv, φ),
    /// and the names of the axes they were clamped on.
    pub fn at_angles(&self, path: &Table, x: &[f64; 3]) -> (AtAngles, Vec<String>) {
        let (w, mut clamped) = weights(&path.axes[..3], x);
        let theta = self.phase.sample(&[scattering_angle(x[0], x[1], x[2])]);
        clamped.extend(theta.clamped);
        let [s, v] = [0, 1].map(|i| &path.axes[i].values);
        let (nv, np) = (v.len(), path.axes[2].values.len());
        let mu = |deg: f64| deg.to_radians().cos();
        let mut nodes = vec![];
        for (i, wi) in w[0].iter() {
            for (j, wj) in w[1].iter() {
                let phase: f64 = w[2]
                    .iter()
                    .map(|(l, wl)| wl * self.at_nodes[(i * nv + j) * np + l])
                    .sum();
                nodes.push((mu(s[i]), mu(v[j]), wi * wj * phase));
            }
        }
        let at = AtAngles {
            nodes,
            phase: theta.value,
            mus: mu(x[0]),
            muv: mu(x[1]),
        };
        (at, clamped)
    }

    /// The range of scattering angles `path` (θs, θv, φ axes first) meets: the phase table
    /// must span it.
    pub fn angles_needed(path: &Table) -> (f64, f64) {
        node_angles(path).fold((180.0f64, 0.0f64), |(lo, hi), t| (lo.min(t), hi.max(t)))
    }
}

/// The scattering angles of the (θs, θv, φ) nodes of `path`, in its order.
fn node_angles(path: &Table) -> impl Iterator<Item = f64> + '_ {
    let [s, v, p] = [0, 1, 2].map(|i| &path.axes[i].values);
    s.iter().flat_map(move |&a| {
        v.iter()
            .flat_map(move |&b| p.iter().map(move |&c| scattering_angle(a, b, c)))
    })
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
    fn the_term_is_single_scattering_in_a_mixed_layer_and_vanishes_without_aerosol() {
        let (mus, muv) = (30f64.to_radians().cos(), 10f64.to_radians().cos());
        let m = 1.0 / mus + 1.0 / muv;
        // thin layer: ρ₁ → ω·P·τa / (4·μs·μv)
        let thin = Column {
            mus,
            muv,
            tau: 1e-6,
            tau_r: 0.0,
        };
        let expected = 0.3 * 1e-6 / (4.0 * mus * muv);
        assert!((0.3 * factor(&thin) / expected - 1.0).abs() < 1e-5);
        // aerosol alone, thick: ω·P·(1 − e^(−τ·m)) / (4·(μs + μv))
        let c = Column { tau: 0.5, ..thin };
        let expected = 0.3 * (1.0 - (-0.5 * m).exp()) / (4.0 * (mus + muv));
        assert!((0.3 * factor(&c) / expected - 1.0).abs() < 1e-12);
        // a third of the column is aerosol: a third of the mixed layer's scattering
        let mixed = Column {
            tau: 0.75,
            tau_r: 0.5,
            ..c
        };
        let expected = 0.3 * (1.0 - (-0.75 * m).exp()) / (4.0 * (mus + muv)) / 3.0;
        assert!((0.3 * factor(&mixed) / expected - 1.0).abs() < 1e-12);
        assert_eq!(factor(&Column { tau: 0.5, ..mixed }), 0.0);
    }
}
