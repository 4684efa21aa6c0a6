//! Clouds of a simulated scene (`vip-sim scene --clouds ...`): layers at known altitudes, seen
//! by each band along its own line of sight, casting shadows on the DEM along the sun.
//!
//! **Layers.** Each layer is a horizontal sheet at one altitude z (geometric thickness
//! neglected: z stands for the whole cloud, base and top alike, which is what the B05/B06
//! stereo of the L1 measures) holding an optical-thickness field τ(E, N):
//! - cumulus: cells about 800 m across from a value-noise field cut at the quantile of the
//!   requested cover, edges about 25 m wide, thicker in the cores, a 120 m texture (±30 %);
//! - stratus: an overcast deck (3 km features, soft holes, ±15 % texture);
//! - cirrus: streaks 4 km long and 400 m wide along a drawn wind direction, soft edges.
//!
//! Altitudes are given above the site's mean terrain height and stored as altitudes above the
//! DEM's datum; where the terrain reaches a layer, that layer does not act on the point.
//!
//! **Radiative model** (per layer, conservative scattering, asymmetry g = [`ASYMMETRY`],
//! delta-Eddington, Joseph et al. 1976): plane albedo under a beam of cosine μ
//!
//! ```text
//! R(μ, τ) = [(1 − g)τ + (2/3 − μ)(1 − exp(−(1 − g²)τ/μ))] / (4/3 + (1 − g)τ),  T = 1 − R
//! r̄(τ)    = R(2/3, τ) = (1 − g)τ / (4/3 + (1 − g)τ)                (spherical albedo)
//! ```
//!
//! The cloud is Lambertian (its reflectance factor is R(μs, τ) whatever the view). Water and ice
//! particles are much larger than the VENµS wavelengths, so τ and R are spectrally flat; gases
//! and Rayleigh scattering above the cloud are neglected (cloud tops are slightly too bright in
//! B01 and B12). Per raw pixel, with its ground point G (height h), its line of sight crossing
//! layer k at V_k and the sun ray to G crossing it at S_k = G + (z_k − h)·tan θs·(sin φs,
//! cos φs) (φs the sun azimuth in the map grid), tilted independent columns give
//!
//! ```text
//! R_c  = adding of the layers seen at V_k (top over bottom: R1 + T1(μs)T1(μv)R2 / (1 − r̄1 r̄2))
//! T_v  = Π_k T(μv, τ(V_k))                                  (surface signal up to the sensor)
//! T_d  = Π_k exp(−(1 − g²)τ(V_k)/μv)                        (of which unscattered: sharp)
//! I    = Π_k exp(−(1 − g²)τ(S_k)/μs)                        (direct sun reaching G: shadows)
//! D    = Π_k T(μs, τ(S_k)) − I                              (sunlight the clouds diffuse)
//! ρTOA = R_c + (T_d·ρ_lit + (T_v − T_d)·ρ̄_lit) / (1 − r̄(Σ_k τ_k(G))·ρ)   (cloud–ground)
//! ```
//!
//! ρ is the ground's albedo below the clouds and ρ_lit its clear-sky reflectance lit by the
//! direct sun scaled by I and by the diffuse light D (the delta-Eddington split: the forward
//! peak of the phase function stays in the beam). Without an atmosphere ρ_lit = (I + D)·ρ.
//! With `--luts` the clouds lie above the aerosol and Rayleigh layers: ρ_lit is the
//! atmosphere's clear-sky TOA reflectance with the direct term T↓dir·cos i replaced by
//! T↓dir·(I·cos i + D·cos θs·(1 + cos β)/2): the beam keeps the relief's light and shade, the
//! light from the cloud base falls on a slope of angle β as from a uniform sky, so under a
//! thick cloud the relief's shading fades. What the cloud scatters on the way up no longer
//! shows the pixel but the landscape around it, blurred over the cloud's depth: ρ̄_lit is
//! the clear-sky TOA reflectance of flat ground of the coarse cells' mean reflectance (the
//! adjacency effect's; without an atmosphere ρ̄_lit = ρ_lit), so the ground's texture fades
//! under a thick cloud as the stereo sees it do. The
//! sky's diffuse light and the environment term stay.
//!
//! The τ fields are sampled once on [`CELL_M`] grids over the DEM (τ at the layer, and τ at
//! the sun crossing of every ground point) and read bilinearly, so a raw pixel costs a few
//! look-ups per layer. Every draw is keyed by the seed and map coordinates.

use rayon::prelude::*;
use serde::Serialize;

use super::noise::{hash, mix, smoothstep, unit, Field};
use crate::error::{Result, VipError};
use crate::geometry::dem::Dem;
use crate::geometry::lonlat::LocalLonLat;
use crate::geometry::sensor::BandModel;
use crate::geometry::sun::SunEphemeris;

/// Asymmetry parameter of the cloud phase function (water droplets and ice crystals alike).
pub const ASYMMETRY: f64 = 0.85;
/// Cell of the grids the τ fields are sampled on, metres.
pub const CELL_M: f64 = 10.0;
/// Most layers a situation holds.
pub const MAX_LAYERS: usize = 2;
/// Band whose viewing direction defines the "as seen" cloud truth (B07, 667 nm).
pub const SEEN_BAND: usize = 6;
/// Allowed ranges: height of low and middle clouds (km), optical thickness of low and middle
/// clouds, altitude of cirrus (km), optical thickness of cirrus.
pub const LOW_KM: (f64, f64) = (0.5, 4.0);
pub const LOW_TAU: (f64, f64) = (1.0, 50.0);
pub const CIRRUS_KM: (f64, f64) = (6.0, 12.0);
pub const CIRRUS_TAU: (f64, f64) = (0.05, 1.0);

/// Delta-Eddington plane albedo R(μ, τ) of a conservative layer (module doc).
pub fn plane_albedo(mu: f64, tau: f64) -> f64 {
    if tau <= 0.0 {
        return 0.0;
    }
    let g = ASYMMETRY;
    let s = (1.0 - g) * tau;
    let direct = (-(1.0 - g * g) * tau / mu).exp();
    ((s + (2.0 / 3.0 - mu) * (1.0 - direct)) / (4.0 / 3.0 + s)).clamp(0.0, 1.0)
}

/// Transmittance (direct and diffuse) T(μ, τ) = 1 − R(μ, τ).
pub fn transmittance(mu: f64, tau: f64) -> f64 {
    1.0 - plane_albedo(mu, tau)
}

/// Delta-Eddington direct transmittance exp(−(1 − g²)τ/μ) (the forward-scattered peak
/// counted in the beam).
pub fn direct_transmittance(mu: f64, tau: f64) -> f64 {
    (-(1.0 - ASYMMETRY * ASYMMETRY) * tau / mu).exp()
}

/// Spherical albedo r̄(τ) = R(2/3, τ).
pub fn spherical_albedo(tau: f64) -> f64 {
    plane_albedo(2.0 / 3.0, tau)
}

/// What the sky holds, as `--clouds` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Situation {
    /// Clear sky
    #[default]
    None,
    /// Fair-weather cumulus, 20-50 % cover
    Scattered,
    /// A stratus deck with a few holes
    Overcast,
    /// Thin high cirrus streaks only
    Cirrus,
    /// Cumulus under cirrus
    Mixed,
}

/// The form of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Cumulus,
    Stratus,
    Cirrus,
}

/// One cloud layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layer {
    pub kind: Kind,
    /// Height above the site's mean terrain height, metres.
    pub height_m: f64,
    /// Fraction of the sky the layer covers (approximately: its field is cut at that quantile).
    pub cover: f64,
    /// Optical thickness range inside the clouds (edges thin down to 0).
    pub tau: (f64, f64),
}

/// The clouds of one scene: layers, highest first, and the seed of their fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloudSpec {
    pub seed: u64,
    pub layers: Vec<Layer>,
}

impl CloudSpec {
    /// A typical `situation` with heights, covers and thicknesses drawn from `seed` (`None` for
    /// a clear sky): the way to vary the sky from date to date in code.
    pub fn situation(situation: Situation, seed: u64) -> Option<CloudSpec> {
        let u = |k: i64| unit(hash(seed, 0xc10d, k, 0));
        let within = |k: i64, (a, b): (f64, f64)| a + (b - a) * u(k);
        let cumulus = Layer {
            kind: Kind::Cumulus,
            height_m: within(1, (800.0, 2500.0)),
            cover: within(2, (0.2, 0.5)),
            tau: (2.0, within(3, (10.0, 30.0))),
        };
        let cirrus = Layer {
            kind: Kind::Cirrus,
            height_m: within(4, (7000.0, 11000.0)),
            cover: within(5, (0.4, 0.8)),
            tau: (0.05, within(6, (0.3, 0.8))),
        };
        let layers = match situation {
            Situation::None => return None,
            Situation::Scattered => vec![cumulus],
            Situation::Overcast => vec![Layer {
                kind: Kind::Stratus,
                height_m: within(7, (500.0, 2000.0)),
                cover: 0.95,
                tau: (8.0, within(8, (20.0, 40.0))),
            }],
            Situation::Cirrus => vec![cirrus],
            Situation::Mixed => vec![cirrus, cumulus],
        };
        Some(CloudSpec {
            seed: mix(seed ^ 0xc10d_5eed),
            layers,
        })
    }
}

/// The `--clouds` options of `vip-sim scene`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CloudArgs {
    /// Clouds over the site, each layer at its own altitude, seen by every band along its own
    /// line of sight and casting shadows on the DEM (truth/CLD_*.tif, CLA.tif, SHD.tif)
    #[arg(long, value_enum, default_value_t = Situation::None)]
    pub clouds: Situation,
    /// Cover of the low or middle layer (of the cirrus with --clouds cirrus), 0-1
    /// [default: drawn from the seed]
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub cloud_cover: Option<f64>,
    /// Height of the low or middle layer above the site's mean terrain, 0.5-4 km [default:
    /// drawn from the seed]
    #[arg(long, value_name = "KM", allow_negative_numbers = true)]
    pub cloud_base: Option<f64>,
    /// Optical-thickness range of the low or middle layer, within 1:50 [default: drawn]
    #[arg(long, value_name = "MIN:MAX")]
    pub cloud_tau: Option<String>,
    /// Height of the cirrus above the site's mean terrain, 6-12 km [default: drawn]
    #[arg(long, value_name = "KM", allow_negative_numbers = true)]
    pub cirrus_altitude: Option<f64>,
    /// Optical-thickness range of the cirrus, within 0.05:1 [default: drawn]
    #[arg(long, value_name = "MIN:MAX")]
    pub cirrus_tau: Option<String>,
}

fn in_range(flag: &str, v: f64, (lo, hi): (f64, f64)) -> Result<f64> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(VipError::Usage(format!(
            "{flag} {v}: must be within {lo}-{hi}"
        )))
    }
}

fn tau_range(flag: &str, text: &str, range: (f64, f64)) -> Result<(f64, f64)> {
    let bad = || VipError::Usage(format!("{flag} {text}: expected MIN:MAX within {range:?}"));
    let (a, b) = text.split_once(':').ok_or_else(bad)?;
    let (a, b): (f64, f64) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if !(a <= b && a >= range.0 && b <= range.1) {
        return Err(bad());
    }
    Ok((a, b))
}

impl CloudArgs {
    /// Checks the options and builds the clouds of a scene of seed `seed` (`None`: clear sky).
    pub fn spec(&self, seed: u64) -> Result<Option<CloudSpec>> {
        let Some(mut spec) = CloudSpec::situation(self.clouds, seed) else {
            let given = [
                ("--cloud-cover", self.cloud_cover.is_some()),
                ("--cloud-base", self.cloud_base.is_some()),
                ("--cloud-tau", self.cloud_tau.is_some()),
                ("--cirrus-altitude", self.cirrus_altitude.is_some()),
                ("--cirrus-tau", self.cirrus_tau.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
                return Err(VipError::Usage(format!("{flag} needs --clouds")));
            }
            return Ok(None);
        };
        let n = spec.layers.len();
        let (cirrus, low) = match (spec.layers[0].kind, n) {
            (Kind::Cirrus, 1) => (Some(0), None),
            (Kind::Cirrus, _) => (Some(0), Some(1)),
            _ => (None, Some(0)),
        };
        if let Some(v) = self.cloud_cover {
            let k = low.or(cirrus).unwrap_or(0);
            spec.layers[k].cover = in_range("--cloud-cover", v, (0.0, 1.0))?;
        }
        let refuse = |flag: &str, what: &str| {
            Err(VipError::Usage(format!(
                "{flag}: --clouds {:?} has no {what} layer",
                self.clouds
            )))
        };
        if let Some(v) = self.cloud_base {
            let Some(k) = low else {
                return refuse("--cloud-base", "low");
            };
            spec.layers[k].height_m = 1000.0 * in_range("--cloud-base", v, LOW_KM)?;
        }
        if let Some(t) = &self.cloud_tau {
            let Some(k) = low else {
                return refuse("--cloud-tau", "low");
            };
            spec.layers[k].tau = tau_range("--cloud-tau", t, LOW_TAU)?;
        }
        if let Some(v) = self.cirrus_altitude {
            let Some(k) = cirrus else {
                return refuse("--cirrus-altitude", "cirrus");
            };
            spec.layers[k].height_m = 1000.0 * in_range("--cirrus-altitude", v, CIRRUS_KM)?;
        }
        if let Some(t) = &self.cirrus_tau {
            let Some(k) = cirrus else {
                return refuse("--cirrus-tau", "cirrus");
            };
            spec.layers[k].tau = tau_range("--cirrus-tau", t, CIRRUS_TAU)?;
        }
        Ok(Some(spec))
    }
}

/// The optical-thickness field of one layer, a continuous function of map position.
#[derive(Debug, Clone)]
struct TauField {
    layer: Layer,
    shape: Field,
    texture: Field,
    /// Shape value where clouds begin (the quantile 1 − cover) and the edge width.
    threshold: f64,
    edge: f64,
    texture_amp: f64,
    /// Streak direction (cos, sin) and along-streak stretch (cirrus).
    wind: (f64, f64),
    stretch: f64,
}

impl TauField {
    fn new(layer: &Layer, seed: u64) -> Self {
        let (scale, octaves, edge, tex_scale, texture_amp, stretch) = match layer.kind {
            Kind::Cumulus => (800.0, 3, 0.03, 120.0, 0.3, 1.0),
            Kind::Stratus => (3000.0, 3, 0.08, 300.0, 0.15, 1.0),
            Kind::Cirrus => (400.0, 3, 0.15, 200.0, 0.3, 10.0),
        };
        let shape = Field {
            seed: mix(seed ^ 1),
            scale,
            octaves,
        };
        let texture = Field {
            seed: mix(seed ^ 2),
            scale: tex_scale,
            octaves: 2,
        };
        let a = std::f64::consts::TAU * unit(hash(seed, 3, 0, 0));
        let mut f = TauField {
            layer: layer.clone(),
            shape,
            texture,
            threshold: 0.0,
            edge,
            texture_amp,
            wind: (a.cos(), a.sin()),
            stretch,
        };
        // The cover quantile of the shape, from 4096 draws over a 40 km square.
        let mut v: Vec<f64> = (0..4096)
            .map(|i| {
                let x = 40_000.0 * unit(hash(seed, 4, i, 0));
                let y = 40_000.0 * unit(hash(seed, 5, i, 0));
                f.shape_at(x, y)
            })
            .collect();
        v.sort_by(f64::total_cmp);
        let q = ((1.0 - layer.cover.clamp(0.0, 1.0)) * (v.len() - 1) as f64).round() as usize;
        f.threshold = if layer.cover <= 0.0 { 2.0 } else { v[q] };
        f
    }

    fn shape_at(&self, x: f64, y: f64) -> f64 {
        let (c, s) = self.wind;
        let (u, v) = (c * x + s * y, -s * x + c * y);
        self.shape.at(u / self.stretch, v)
    }

    fn tau(&self, x: f64, y: f64) -> f64 {
        let v = self.shape_at(x, y);
        if v <= self.threshold {
            return 0.0;
        }
        let m = smoothstep(self.threshold, self.threshold + self.edge, v);
        let depth = ((v - self.threshold) / (1.0 - self.threshold).max(1e-6))
            .clamp(0.0, 1.0)
            .sqrt();
        let q = 1.0 + self.texture_amp * (2.0 * self.texture.at(x, y) - 1.0);
        let (lo, hi) = self.layer.tau;
        (m * (lo + (hi - lo) * depth) * q).min(hi)
    }
}

/// A float raster on a regular map grid, read bilinearly (0 outside).
#[derive(Debug, Clone)]
struct Grid {
    ulx: f64,
    uly: f64,
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl Grid {
    fn over(dem: &Dem, f: impl Fn(f64, f64) -> f32 + Sync) -> Self {
        let width = (dem.width as f64 * dem.pixel / CELL_M).ceil() as usize;
        let height = (dem.height as f64 * dem.pixel / CELL_M).ceil() as usize;
        let (ulx, uly) = (dem.ulx, dem.uly);
        let data = (0..height)
            .into_par_iter()
            .flat_map_iter(|r| {
                let f = &f;
                (0..width).map(move |c| {
                    f(
                        ulx + (c as f64 + 0.5) * CELL_M,
                        uly - (r as f64 + 0.5) * CELL_M,
                    )
                })
            })
            .collect();
        Grid {
            ulx,
            uly,
            width,
            height,
            data,
        }
    }

    fn at(&self, e: f64, n: f64) -> f64 {
        let x = (e - self.ulx) / CELL_M - 0.5;
        let y = (self.uly - n) / CELL_M - 0.5;
        if !(x >= 0.0 && y >= 0.0) {
            return 0.0;
        }
        let (c, r) = (x as usize, y as usize);
        if c + 1 >= self.width || r + 1 >= self.height {
            return 0.0;
        }
        let (fx, fy) = (x - c as f64, y - r as f64);
        let at = |c: usize, r: usize| f64::from(self.data[r * self.width + c]);
        let top = at(c, r) * (1.0 - fx) + at(c + 1, r) * fx;
        let bottom = at(c, r + 1) * (1.0 - fx) + at(c + 1, r + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// The sun over the scene at one instant: cos θs and the map displacement towards the sun
/// per metre of altitude, tan θs·(sin φs, cos φs), φs from grid north (the geographic azimuth
/// minus the meridian convergence of the map projection).
#[derive(Debug, Clone, Copy)]
pub struct SunGeometry<'a> {
    pub eph: SunEphemeris,
    pub local: &'a LocalLonLat,
}

impl SunGeometry<'_> {
    /// (cos θs, DX, DY) at map point (E, N).
    pub fn at(&self, e: f64, n: f64) -> (f64, f64, f64) {
        let (lon, lat) = self.local.lonlat(e, n);
        let (lon2, lat2) = self.local.lonlat(e, n + 100.0);
        let convergence = ((lon2 - lon) * lat.to_radians().cos()).atan2(lat2 - lat);
        let a = self.eph.angles(lat, lon);
        let (z, az) = (a.zenith.to_radians(), a.azimuth.to_radians() - convergence);
        (z.cos(), z.tan() * az.sin(), z.tan() * az.cos())
    }
}

/// One layer over the scene: its altitude and τ sampled at the layer and at the sun crossing
/// of every ground point.
#[derive(Debug, Clone)]
struct LayerGrids {
    z: f64,
    kind: Kind,
    tau: Grid,
    tau_sun: Grid,
}

/// The clouds of a scene, ready to be looked through.
#[derive(Debug, Clone)]
pub struct Clouds {
    layers: Vec<LayerGrids>,
}

/// What one line of sight meets: per layer (highest first), τ where it crosses the layer with
/// the cosine of its zenith angle, τ on the sun ray to its ground point, and τ vertically above
/// its ground point.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Column {
    pub n: usize,
    pub view: [(f64, f64); MAX_LAYERS],
    pub sun: [f64; MAX_LAYERS],
    pub over: [f64; MAX_LAYERS],
}

impl Column {
    /// True when no layer acts on this pixel.
    pub fn is_clear(&self) -> bool {
        (0..self.n).all(|k| self.view[k].0 == 0.0 && self.sun[k] == 0.0 && self.over[k] == 0.0)
    }

    /// The sunlight reaching the ground point, as fractions of the clear sky's direct beam:
    /// the direct sun I (1: lit, < 1: cast shadow) and the light the clouds diffuse, D
    /// (module doc).
    pub fn sun_light(&self, mu_s: f64) -> (f64, f64) {
        let taus = &self.sun[..self.n];
        let total: f64 = taus.iter().map(|&t| transmittance(mu_s, t)).product();
        let direct: f64 = taus
            .iter()
            .map(|&t| direct_transmittance(mu_s, t))
            .product();
        (direct, (total - direct).max(0.0))
    }

    /// TOA reflectance over a ground of albedo `rho` whose clear-sky TOA reflectance, with
    /// its direct sun replaced by [`Column::sun_light`], is `rho_lit` at the pixel and that
    /// of the landscape around it (module doc).
    pub fn toa(&self, mu_s: f64, (rho_lit, around): (f64, f64), rho: f64) -> f64 {
        let (mut r, mut tv, mut direct) = (0.0, 1.0, 1.0);
        for &(tau, mu_v) in self.view[..self.n].iter().rev() {
            let rk = plane_albedo(mu_s, tau);
            let t_v = transmittance(mu_v, tau);
            r = rk + (1.0 - rk) * t_v * r / (1.0 - spherical_albedo(tau) * r);
            tv *= t_v;
            direct *= direct_transmittance(mu_v, tau);
        }
        let direct = direct.min(tv);
        let over = spherical_albedo(self.over[..self.n].iter().sum());
        r + (direct * rho_lit + (tv - direct) * around) / (1.0 - over * rho)
    }
}

impl Clouds {
    /// Bytes of its grids in memory.
    pub fn bytes(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| {
                std::mem::size_of_val(&l.tau.data[..]) + std::mem::size_of_val(&l.tau_sun.data[..])
            })
            .sum::<usize>() as u64
    }

    /// Samples the layers of `spec` over the DEM grid, the altitudes taken above the DEM's
    /// mean height, the shadows cast by `sun`.
    pub fn new(spec: &CloudSpec, dem: &Dem, sun: &SunGeometry) -> Self {
        let (_, _, mean, _) = dem.statistics();
        let layers = spec
            .layers
            .iter()
            .take(MAX_LAYERS)
            .enumerate()
            .map(|(k, layer)| {
                let field = TauField::new(layer, hash(spec.seed, k as i64, 0, 0));
                let z = mean + layer.height_m;
                let tau = Grid::over(dem, |e, n| field.tau(e, n) as f32);
                let tau_sun = Grid::over(dem, |e, n| {
                    let h = dem.height(e, n);
                    if h >= z {
                        return 0.0;
                    }
                    let (_, dx, dy) = sun.at(e, n);
                    field.tau(e + (z - h) * dx, n + (z - h) * dy) as f32
                });
                LayerGrids {
                    z,
                    kind: layer.kind,
                    tau,
                    tau_sun,
                }
            })
            .collect();
        Clouds { layers }
    }

    /// What the line of sight through ground point (E, N, h) meets, `cross(z)` being where it
    /// crosses altitude z.
    pub fn column(&self, e: f64, n: f64, h: f64, cross: impl Fn(f64) -> (f64, f64)) -> Column {
        let mut c = Column {
            n: self.layers.len(),
            ..Default::default()
        };
        for (k, l) in self.layers.iter().enumerate() {
            if h >= l.z {
                continue;
            }
            let (x, y) = cross(l.z);
            let tan2 = ((x - e).powi(2) + (y - n).powi(2)) / (l.z - h).powi(2);
            c.view[k] = (l.tau.at(x, y), 1.0 / (1.0 + tan2).sqrt());
            c.sun[k] = l.tau_sun.at(e, n);
            c.over[k] = l.tau.at(e, n);
        }
        c
    }

    /// Layers, highest first: (altitude above the datum m, is cirrus).
    pub fn altitudes(&self) -> Vec<(f64, bool)> {
        self.layers
            .iter()
            .map(|l| (l.z, l.kind == Kind::Cirrus))
            .collect()
    }
}

/// The viewing direction of one band over the site, affine in map position: (DX, DY), the map
/// displacement of its line of sight per metre of altitude towards the satellite.
#[derive(Debug, Clone, Copy)]
pub struct ViewField {
    origin: (f64, f64),
    d: (f64, f64),
    de: (f64, f64),
    dn: (f64, f64),
}

impl ViewField {
    /// Fits `model`'s viewing direction at height `h` around `centre`, over ± `half` metres.
    pub fn of(model: &BandModel, centre: (f64, f64), h: f64, half: f64) -> Self {
        let dir = |e: f64, n: f64| {
            let (l, c) = model.image_position(e, n, h);
            model.view_direction(l, c, h)
        };
        let (e, n) = centre;
        let d = dir(e, n);
        let a = dir(e + half, n);
        let b = dir(e, n + half);
        ViewField {
            origin: centre,
            d,
            de: ((a.0 - d.0) / half, (a.1 - d.1) / half),
            dn: ((b.0 - d.0) / half, (b.1 - d.1) / half),
        }
    }

    /// (DX, DY) at map point (E, N).
    pub fn at(&self, e: f64, n: f64) -> (f64, f64) {
        let (x, y) = (e - self.origin.0, n - self.origin.1);
        (
            self.d.0 + x * self.de.0 + y * self.dn.0,
            self.d.1 + x * self.de.1 + y * self.dn.1,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn albedos_have_their_limits() {
        // Thin: R → 0; thick: R → 1; conservative: R + T = 1 by construction, T falls with τ.
        assert!(plane_albedo(0.7, 1e-6) < 1e-6);
        assert!(plane_albedo(0.7, 1e4) > 0.999);
        let mut last = 0.0;
        for t in [0.05, 0.3, 1.0, 5.0, 20.0, 50.0] {
            let r = plane_albedo(0.65, t);
            assert!(r > last, "{t} {r}");
            last = r;
        }
        // Spherical albedo: the closed form (1 − g)τ / (4/3 + (1 − g)τ).
        let s = 0.15 * 10.0;
        assert!((spherical_albedo(10.0) - s / (4.0 / 3.0 + s)).abs() < 1e-12);
        // Lower sun, brighter cloud.
        assert!(plane_albedo(0.3, 5.0) > plane_albedo(0.9, 5.0));
    }

    #[test]
    fn a_clear_column_leaves_the_surface_alone() {
        let c = Column {
            n: 1,
            ..Default::default()
        };
        assert!(c.is_clear());
        assert_eq!(c.toa(0.6, (0.2, 0.2), 0.2), 0.2);
        assert_eq!(c.sun_light(0.6), (1.0, 0.0));
    }

    #[test]
    fn cover_is_the_requested_fraction() {
        for (kind, cover) in [(Kind::Cumulus, 0.3), (Kind::Cirrus, 0.6)] {
            let layer = Layer {
                kind,
                height_m: 1000.0,
                cover,
                tau: (1.0, 10.0),
            };
            let f = TauField::new(&layer, 9);
            let n = 20_000;
            let cloudy = (0..n)
                .filter(|&i| {
                    let x = 30_000.0 * unit(hash(77, i, 0, 0));
                    let y = 30_000.0 * unit(hash(78, i, 0, 0));
                    f.tau(x, y) > 0.0
                })
                .count();
            let got = cloudy as f64 / n as f64;
            assert!((got - cover).abs() < 0.08, "{kind:?} {got} {cover}");
        }
    }

    #[test]
    fn out_of_range_options_are_refused_by_name() {
        let a = CloudArgs {
            clouds: Situation::Scattered,
            cloud_base: Some(7.0),
            ..Default::default()
        };
        let e = a.spec(1).unwrap_err().to_string();
        assert!(e.contains("--cloud-base 7"), "{e}");
        let a = CloudArgs {
            clouds: Situation::Mixed,
            cirrus_tau: Some("0.5:3".into()),
            ..Default::default()
        };
        assert!(a
            .spec(1)
            .unwrap_err()
            .to_string()
            .contains("--cirrus-tau 0.5:3"));
        let a = CloudArgs {
            cloud_cover: Some(0.5),
            ..Default::default()
        };
        assert!(a.spec(1).unwrap_err().to_string().contains("--clouds"));
        let a = CloudArgs {
            clouds: Situation::Mixed,
            cloud_base: Some(2.5),
            cloud_tau: Some("5:20".into()),
            ..Default::default()
        };
        let s = a.spec(1).unwrap().unwrap();
        assert_eq!(s.layers[1].height_m, 2500.0);
        assert_eq!(s.layers[1].tau, (5.0, 20.0));
        assert_eq!(s.layers[0].kind, Kind::Cirrus);
    }
}
