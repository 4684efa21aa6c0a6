//! Per-pixel surface reflectance: the uniform-surface inversion, the adjacency (environment)
//! correction and the slope correction (MAJA's formulation, domain notes §5.8–5.10).
//!
//! The forward model these invert, for a Lambertian surface of flat-terrain reflectance ρ on a
//! slope, in an environment of mean apparent reflectance ρe:
//!
//! ```text
//! E     = p·cos i / cos θs + (1 − p)·(1 + cos β)/2 + ρe·(1 − cos β)/2     (p = T↓dir / T↓)
//! ρ_app = ρ·E                                          (SRE: reflectance as if terrain were flat)
//! ρ_TOA = tg_path·ρ_path + Tg·T↓·(T↑dir·ρ_app + T↑dif·ρe) / (1 − S·ρe)
//! ```
//!
//! (uniform flat ground, ρ_app = ρe = ρ, gives back [`super::Terms::toa`]).

use super::Terms;

/// The terms one pixel's correction needs, in one band.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PixelTerms {
    /// tg_path·ρ_path: the path reflectance as seen at TOA.
    pub path: f64,
    /// Tg·T↓·T↑.
    pub gain: f64,
    /// Spherical albedo S.
    pub s: f64,
    /// T↑dir / T↑: direct share of the upward transmission.
    pub up_dir: f64,
    /// T↓dir / T↓: direct share of the downward transmission.
    pub down_dir: f64,
}

/// What [`PixelTerms::adjacency`] reads of a pixel's terms: kept alone where a whole grid of
/// them is held for the environment's passes (16 bytes a cell instead of 40).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AdjacencyTerms {
    /// Spherical albedo S.
    pub s: f64,
    /// T↑dir / T↑: direct share of the upward transmission.
    pub up_dir: f64,
}

impl AdjacencyTerms {
    /// The pixel's own reflectance from its uniform-surface one `rho_s` and the environment
    /// reflectance `rho_env`.
    pub fn correct(&self, rho_s: f64, rho_env: f64) -> f64 {
        (rho_s * (1.0 - rho_env * self.s) / (1.0 - rho_s * self.s) - rho_env * (1.0 - self.up_dir))
            / self.up_dir
    }
}

/// Number of values in a [`PixelTerms`] (for packed storage).
pub const PIXEL_TERMS: usize = 5;

impl PixelTerms {
    /// The values in a fixed order (see [`PixelTerms::from_array`]).
    pub fn to_array(&self) -> [f64; PIXEL_TERMS] {
        [self.path, self.gain, self.s, self.up_dir, self.down_dir]
    }

    pub fn from_array(v: [f64; PIXEL_TERMS]) -> Self {
        PixelTerms {
            path: v[0],
            gain: v[1],
            s: v[2],
            up_dir: v[3],
            down_dir: v[4],
        }
    }

    /// Surface reflectance of a uniform surface giving `toa` (the LUT inversion):
    /// y / (1 + S·y) with y = (ρ_TOA − path) / gain, written with one division.
    pub fn uniform(&self, toa: f64) -> f64 {
        let x = toa - self.path;
        x / (self.gain + self.s * x)
    }

    /// TOA reflectance of a uniform surface of reflectance `rho` (the inverse of
    /// [`PixelTerms::uniform`]).
    pub fn toa(&self, rho: f64) -> f64 {
        self.path + self.gain * rho / (1.0 - self.s * rho)
    }

    /// Adjacency correction: the pixel's own reflectance from its uniform-surface one `rho_s`
    /// and the environment reflectance `rho_env`.
    pub fn adjacency(&self, rho_s: f64, rho_env: f64) -> f64 {
        self.adjacency_terms().correct(rho_s, rho_env)
    }

    /// The two terms the adjacency correction reads.
    pub fn adjacency_terms(&self) -> AdjacencyTerms {
        AdjacencyTerms {
            s: self.s,
            up_dir: self.up_dir,
        }
    }

    /// [`PixelTerms::adjacency`] of [`PixelTerms::uniform`]: the reflectance of a pixel giving
    /// `toa` in an environment of reflectance `rho_env`, as a numerator and a denominator. With
    /// u = y / (1 + S·y), u / (1 − S·u) = y, so the correction is
    /// (y·(1 − S·ρe) − ρe·(1 − T↑dir/T↑)) / (T↑dir/T↑), one division in all.
    fn surface_fraction(&self, toa: f64, rho_env: f64) -> (f64, f64) {
        (
            (toa - self.path) * (1.0 - rho_env * self.s)
                - rho_env * (1.0 - self.up_dir) * self.gain,
            self.gain * self.up_dir,
        )
    }

    /// The pixel's reflectance from `toa` and the environment's reflectance `rho_env`:
    /// [`PixelTerms::adjacency`] of [`PixelTerms::uniform`].
    pub fn surface(&self, toa: f64, rho_env: f64) -> f64 {
        let (n, d) = self.surface_fraction(toa, rho_env);
        n / d
    }

    /// [`PixelTerms::surface`] (the SRE: as if the terrain were flat) and it divided by the
    /// [`PixelTerms::illumination`] of the slope lit by `light` (the FRE), two independent
    /// divisions; for a `cloud`, [`PixelTerms::uniform`] twice (a cloud lies above the slope
    /// and most of the scattering air). Without a branch, so that a row of pixels runs in
    /// SIMD lanes.
    pub fn surface_and_flat(
        &self,
        toa: f64,
        rho_env: f64,
        light: &SlopeLight,
        cloud: bool,
    ) -> (f64, f64) {
        let (n, d) = self.surface_fraction(toa, rho_env);
        let x = toa - self.path;
        let (n, d, e) = if cloud {
            (x, self.gain + self.s * x, 1.0)
        } else {
            (n, d, self.lit(light, rho_env))
        };
        (n / d, n / (d * e))
    }

    /// The direct sun's share of [`PixelTerms::illumination`]: the slope's direct light
    /// relative to flat ground's total (the slope's ratio first: the same for every band).
    pub fn direct(&self, slope: &Slope) -> f64 {
        self.down_dir * SlopeLight::from(slope).direct
    }

    /// Illumination of a slope relative to flat ground (E above).
    pub fn illumination(&self, slope: &Slope, rho_env: f64) -> f64 {
        self.lit(&SlopeLight::from(slope), rho_env)
    }

    /// [`PixelTerms::illumination`] from the slope's terms that no band changes.
    pub fn lit(&self, light: &SlopeLight, rho_env: f64) -> f64 {
        self.down_dir * light.direct + (1.0 - self.down_dir) * light.sky + rho_env * light.ground
    }
}

/// What [`PixelTerms::illumination`] takes of a slope, the same in every band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlopeLight {
    /// cos i / cos θs, 0 where the slope faces away from the sun.
    pub direct: f64,
    /// (1 + cos β) / 2: the share of the sky the slope sees.
    pub sky: f64,
    /// (1 − cos β) / 2: the share of the ground around it that it sees.
    pub ground: f64,
}

impl From<&Slope> for SlopeLight {
    fn from(slope: &Slope) -> Self {
        SlopeLight {
            direct: slope.cos_i.max(0.0) / slope.cos_sun,
            sky: (1.0 + slope.cos_slope) / 2.0,
            ground: (1.0 - slope.cos_slope) / 2.0,
        }
    }
}

impl From<&Terms> for PixelTerms {
    fn from(t: &Terms) -> Self {
        PixelTerms {
            path: t.tg_path * t.rho_path,
            gain: t.tg * t.t_down * t.t_up,
            s: t.s,
            up_dir: t.t_up_dir / t.t_up,
            down_dir: t.t_down_dir / t.t_down,
        }
    }
}

/// The illumination geometry of one pixel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slope {
    /// Cosine of the sun's incidence angle on the slope.
    pub cos_i: f64,
    /// Cosine of the sun zenith angle.
    pub cos_sun: f64,
    /// Cosine of the slope angle.
    pub cos_slope: f64,
}

impl Slope {
    /// Flat ground under a sun at zenith angle whose cosine is `cos_sun`.
    pub fn flat(cos_sun: f64) -> Slope {
        Slope {
            cos_i: cos_sun,
            cos_sun,
            cos_slope: 1.0,
        }
    }

    /// From the terrain normal (east, north, up; unit) and the unit vector towards the sun.
    pub fn new(normal: [f64; 3], sun: [f64; 3]) -> Slope {
        Slope {
            cos_i: normal[0] * sun[0] + normal[1] * sun[1] + normal[2] * sun[2],
            cos_sun: sun[2],
            cos_slope: normal[2],
        }
    }
}

/// Unit vector (east, north, up) of a direction given by zenith and azimuth (degrees,
/// azimuth clockwise from north).
pub fn direction(zenith_deg: f64, azimuth_deg: f64) -> [f64; 3] {
    let (z, a) = (zenith_deg.to_radians(), azimuth_deg.to_radians());
    [z.sin() * a.sin(), z.sin() * a.cos(), z.cos()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> PixelTerms {
        PixelTerms {
            path: 0.06,
            gain: 0.72,
            s: 0.15,
            up_dir: 0.82,
            down_dir: 0.74,
        }
    }

    /// The forward model of the module docs, written independently of the inversions.
    fn forward(t: &PixelTerms, rho: f64, rho_env_flat: f64, slope: &Slope, rho_env: f64) -> f64 {
        let e = t.down_dir * slope.cos_i.max(0.0) / slope.cos_sun
            + (1.0 - t.down_dir) * (1.0 + slope.cos_slope) / 2.0
            + rho_env_flat * (1.0 - slope.cos_slope) / 2.0;
        let app = rho * e;
        t.path + t.gain * (t.up_dir * app + (1.0 - t.up_dir) * rho_env) / (1.0 - t.s * rho_env)
    }

    #[test]
    fn uniform_flat_ground_round_trips() {
        let t = terms();
        for rho in [0.0, 0.03, 0.2, 0.6] {
            let toa = forward(&t, rho, rho, &Slope::flat(0.8), rho);
            let s = t.uniform(toa);
            assert!((s - rho).abs() < 1e-12);
            assert!((t.adjacency(s, rho) - rho).abs() < 1e-12);
            assert!((t.toa(rho) - toa).abs() < 1e-12);
        }
    }

    #[test]
    fn adjacency_recovers_a_dark_pixel_in_a_bright_environment() {
        let t = terms();
        let (rho, env) = (0.02, 0.3);
        let toa = forward(&t, rho, env, &Slope::flat(0.8), env);
        let s = t.uniform(toa);
        assert!(
            s > rho + 0.01,
            "the environment brightens the uniform inversion: {s}"
        );
        assert!((t.adjacency(s, env) - rho).abs() < 1e-12);
    }

    #[test]
    fn slope_correction_gives_back_the_flat_reflectance() {
        let t = terms();
        let sun = direction(40.0, 150.0);
        for (slope_deg, aspect) in [(0.0, 0.0), (20.0, 150.0), (25.0, 330.0), (35.0, 60.0)] {
            let normal = direction(slope_deg, aspect);
            let g = Slope::new(normal, sun);
            let (rho, env) = (0.25, 0.2);
            let app = rho * t.illumination(&g, env);
            let toa = forward(&t, rho, env, &g, env);
            let sre = t.adjacency(t.uniform(toa), env);
            assert!((sre - app).abs() < 1e-12);
            let fre = sre / t.illumination(&g, env);
            assert!((fre - rho).abs() < 1e-12, "{slope_deg}/{aspect}: {fre}");
            // the closed form the L2 uses gives the same, in one division each
            let light = SlopeLight::from(&g);
            let (closed_sre, closed_fre) = t.surface_and_flat(toa, env, &light, false);
            assert!((closed_sre - sre).abs() < 1e-14 && (closed_fre - fre).abs() < 1e-14);
            assert_eq!(t.surface(toa, env), closed_sre);
            // under a cloud, the uniform inversion in both
            let cloud = t.surface_and_flat(toa, env, &light, true);
            assert_eq!(cloud, (t.uniform(toa), t.uniform(toa)));
        }
        // facing the sun brightens, facing away darkens
        let towards = Slope::new(direction(20.0, 150.0), sun);
        let away = Slope::new(direction(20.0, 330.0), sun);
        assert!(t.illumination(&towards, 0.2) > 1.0 && t.illumination(&away, 0.2) < 1.0);
    }

    #[test]
    fn terms_convert_from_the_lut_terms() {
        let lut = Terms {
            rho_path: 0.1,
            rho_r: 0.07,
            tg_path: 0.9,
            tg: 0.8,
            t_down: 0.9,
            t_up: 0.95,
            t_down_dir: 0.6,
            t_up_dir: 0.76,
            s: 0.2,
            clamped: vec![],
        };
        let p = PixelTerms::from(&lut);
        for rho in [0.05, 0.4] {
            assert!((p.uniform(lut.toa(rho)) - rho).abs() < 1e-12);
        }
        assert!((p.up_dir - 0.8).abs() < 1e-12 && (p.down_dir - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(PixelTerms::from_array(p.to_array()), p);
    }
}
