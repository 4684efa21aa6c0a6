//! The atmosphere of a simulated scene (`vip-sim scene --luts DIR`): smooth AOT and water-vapour
//! fields, terrain illumination and the adjacency effect, turning the landscape's surface
//! reflectances into TOA reflectances with the terms of a 6S LUT set.
//!
//! Per band, at a ground point of altitude h, with the LUT terms at (h, AOT, WV) and the
//! scene-centre geometry (P = tg_path·ρ_path, T↓dif = T↓ − T↓dir, T↑dif = T↑ − T↑dir):
//!
//! ```text
//! cos i  = cos θs cos β + sin θs sin β cos(φs − A)       slope β, aspect A (downslope azimuth)
//! E      = [T↓dir·max(cos i, 0)/cos θs + T↓dif·(1 + cos β)/2 + T↓·ρ̄·(1 − cos β)/2] / T↓
//! ρ_app  = ρ·E                                          (truth SRE; ρ is the truth FRE)
//! ρ_TOA  = P + Tg·T↓·(T↑dir·ρ_app + T↑dif·ρ_env) / (1 − S·ρ_env)
//! ```
//!
//! ρ̄ (the ground facing a slope) is the mean of ρ over a square of side [`ENV_SIDE_M`] centred
//! on the point. ρ_env is the mean of ρ_app weighted as 6S weights the environment of a target
//! ([`EnvFunction`]: its share of the diffuse upward transmission within a distance r, a few
//! hundred metres for aerosols, kilometres for Rayleigh), the weights beyond the DEM raster
//! spread over the raster. Over a flat uniform surface ρ_app = ρ_env = ρ and ρ_TOA is
//! [`Terms::toa`]. Only self shadows are modelled (cos i ≤ 0): the truth is defined without
//! cast shadows. The environment means and the AOT and WV fields live on a raster of
//! [`ENV_CELL_M`] cells over the DEM, sampled bilinearly. The terms come from a dense
//! (altitude, AOT, WV) table per band interpolated trilinearly, so the LUT's own interpolation
//! runs only at its nodes; every value is keyed by map coordinates.
//!
//! Agreement with 6S run over a heterogeneous surface (`bins/vip-maccs/tests/adjacency_6s.rs`:
//! 6S's TOA at the centre of a Lambertian disc of radius 0.1–10 km, reflectance 0.03 in 0.30
//! and the reverse, AOT 0.25 and 0.5, B03, B07 and B11, θs 40°, θv 12°): this forward model on
//! a 100 km raster gives 6S's TOA within 0.00045 over the discs (RMS 0.00016–0.00029 per
//! radius), within 0.00004 over uniform ground; the weight it gives the disc is 6S's F(R)
//! within 0.005 (F from 0.12 at 0.1 km to 0.95 at 10 km).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::acquisition::Acquisition;
use super::landscape::{Landscape, NB};
use super::noise::{mix, Field};
use crate::atmosphere::environment::{EnvFunction, SummedArea, Window};
use crate::atmosphere::{BandLuts, Conditions, LutSet, Terms};
use crate::ee::lut::LutKind;
use crate::error::{Result, VipError};
use crate::geometry::dem::{Dem, Gradient};
use crate::geometry::lonlat::LocalLonLat;
use crate::geometry::sun::SunEphemeris;
use crate::mission::venus::BANDS;
use crate::product::l1c::grid_to_angles;

/// Side of the square ρ̄ is the mean over, metres: MAJA's environment window (2r + 1 coarse
/// pixels at r = 10 for VENµS' 100 m: about 2.1 km), which the simulator's ρ_env does not use.
pub const ENV_SIDE_M: f64 = 2160.0;
/// Cell of the coarse raster the environment means are computed on (each cell sampled at its
/// centre; 45 cells, odd so that it is centred on a cell, span [`ENV_SIDE_M`]) and the AOT and
/// water-vapour fields are held on (bilinear between cell centres).
pub const ENV_CELL_M: f64 = 48.0;
/// Feature size of the AOT and water-vapour fields, metres.
pub const FIELD_SCALE_M: f64 = 5000.0;
/// Relative spread of the AOT and water-vapour fields: MEAN × (1 ± SPREAD).
pub const FIELD_SPREAD: f64 = 0.25;
/// Largest node spacings of the dense term tables (altitude m, AOT, WV g/cm²).
pub const TABLE_STEPS: (f64, f64, f64) = (50.0, 0.01, 0.05);

/// What the atmosphere of a scene is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct AtmosphereSpec {
    /// Folder holding the LUT GIPPs, and the aerosol model (their nick name) of the scene.
    pub luts: PathBuf,
    pub model: String,
    /// Mean aerosol optical thickness at 550 nm.
    pub aot_mean: f64,
    /// Mean water-vapour column, g/cm².
    pub wv_mean: f64,
}

/// The atmospheric terms of one band at one point, as the forward model uses them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PointTerms {
    /// Path reflectance with its gaseous transmission, tg_path·ρ_path.
    pub path: f64,
    pub tg: f64,
    pub t_down: f64,
    pub t_down_dir: f64,
    pub t_up: f64,
    pub t_up_dir: f64,
    pub s: f64,
}

impl From<&Terms> for PointTerms {
    fn from(t: &Terms) -> Self {
        PointTerms {
            path: t.tg_path * t.rho_path,
            tg: t.tg,
            t_down: t.t_down,
            t_down_dir: t.t_down_dir,
            t_up: t.t_up,
            t_up_dir: t.t_up_dir,
            s: t.s,
        }
    }
}

impl PointTerms {
    fn to_array(self) -> [f64; 7] {
        [
            self.path,
            self.tg,
            self.t_down,
            self.t_down_dir,
            self.t_up,
            self.t_up_dir,
            self.s,
        ]
    }

    fn from_array(a: [f64; 7]) -> Self {
        let [path, tg, t_down, t_down_dir, t_up, t_up_dir, s] = a;
        PointTerms {
            path,
            tg,
            t_down,
            t_down_dir,
            t_up,
            t_up_dir,
            s,
        }
    }

    /// Reflectance the flat-terrain model would see at a point of intrinsic reflectance `rho`
    /// under `light`, `rho_bar` being the environment mean of the intrinsic reflectance.
    pub fn apparent(&self, rho: f64, rho_bar: f64, light: &Lighting) -> f64 {
        let dif = self.t_down - self.t_down_dir;
        let e = self.t_down_dir * light.cos_i.max(0.0) / light.cos_sza
            + dif * (1.0 + light.cos_slope) / 2.0
            + self.t_down * rho_bar * (1.0 - light.cos_slope) / 2.0;
        rho * e / self.t_down
    }

    /// TOA reflectance of a point of apparent reflectance `rho_app` in an environment of
    /// reflectance `rho_env`.
    pub fn toa(&self, rho_app: f64, rho_env: f64) -> f64 {
        let up_dif = self.t_up - self.t_up_dir;
        self.path
            + self.tg * self.t_down * (self.t_up_dir * rho_app + up_dif * rho_env)
                / (1.0 - self.s * rho_env)
    }
}

/// Sun incidence on the terrain at one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lighting {
    pub cos_sza: f64,
    /// cos β, β the slope.
    pub cos_slope: f64,
    /// Cosine of the sun incidence angle on the slope (≤ 0: self shadow).
    pub cos_i: f64,
}

/// Sun and view directions at the scene centre, degrees (azimuths clockwise from north, the
/// view azimuth towards the satellite).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CentreGeometry {
    pub sun_zenith: f64,
    pub sun_azimuth: f64,
    /// Per band, B01..B12.
    pub view_zenith: [f64; NB],
    pub view_azimuth: [f64; NB],
}

impl CentreGeometry {
    /// The geometry of `acq` at the scene centre `centre` (at the DEM height there).
    pub fn of(acq: &Acquisition, centre: (f64, f64), local: &LocalLonLat, dem: &Dem) -> Self {
        let (e, n) = centre;
        let h = dem.height(e, n);
        let (lon, lat) = local.lonlat(e, n);
        let sun = SunEphemeris::at(acq.t_centre).angles(lat, lon);
        let mut view_zenith = [0.0; NB];
        let mut view_azimuth = [0.0; NB];
        for (b, m) in acq.models.iter().enumerate().take(NB) {
            let (l, c) = m.image_position(e, n, h);
            let (dx, dy) = m.view_direction(l, c, h);
            (view_zenith[b], view_azimuth[b]) = grid_to_angles(dx, dy);
        }
        CentreGeometry {
            sun_zenith: sun.zenith,
            sun_azimuth: sun.azimuth,
            view_zenith,
            view_azimuth,
        }
    }

    /// Relative azimuth |φs − φv| of band `b` folded into [0, 180] (0: backscattering).
    pub fn relative_azimuth(&self, b: usize) -> f64 {
        let d = (self.sun_azimuth - self.view_azimuth[b])
            .abs()
            .rem_euclid(360.0);
        if d > 180.0 {
            360.0 - d
        } else {
            d
        }
    }

    /// LUT conditions of band `b` at altitude `alt` m.
    pub fn conditions(&self, b: usize, alt: f64, aot: f64, wv: f64) -> Conditions {
        Conditions {
            sza: self.sun_zenith,
            vza: self.view_zenith[b],
            raa: self.relative_azimuth(b),
            aot,
            wv,
            alt,
        }
    }
}

/// A regular axis of a dense table.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Regular {
    lo: f64,
    step: f64,
    n: usize,
}

impl Regular {
    /// Nodes from `lo` to `hi` at most `max_step` apart.
    fn new((lo, hi): (f64, f64), max_step: f64) -> Self {
        let n = ((hi - lo) / max_step).ceil().max(0.0) as usize + 1;
        let step = if n > 1 {
            (hi - lo) / (n - 1) as f64
        } else {
            1.0
        };
        Regular { lo, step, n }
    }

    fn node(&self, i: usize) -> f64 {
        self.lo + i as f64 * self.step
    }

    /// Lower node index and weight of the upper node at `x` (clamped to the axis).
    fn locate(&self, x: f64) -> (usize, f64) {
        if self.n == 1 {
            return (0, 0.0);
        }
        let t = ((x - self.lo) / self.step).clamp(0.0, (self.n - 1) as f64);
        let i = (t as usize).min(self.n - 2);
        (i, t - i as f64)
    }
}

/// The terms of one band at the scene-centre geometry on a dense (altitude, AOT, WV) grid,
/// interpolated trilinearly.
#[derive(Debug, Clone, PartialEq)]
pub struct TermTable {
    alt: Regular,
    aot: Regular,
    wv: Regular,
    data: Vec<[f64; 7]>,
}

impl TermTable {
    /// Tabulates `luts` under `at(alt, aot, wv)` over the given ranges with node spacings at
    /// most [`TABLE_STEPS`]. Fails with the LUT axes some node fell outside of.
    pub fn new(
        luts: &BandLuts,
        at: impl Fn(f64, f64, f64) -> Conditions + Sync,
        alt: (f64, f64),
        aot: (f64, f64),
        wv: (f64, f64),
    ) -> std::result::Result<Self, Vec<String>> {
        let (alt, aot, wv) = (
            Regular::new(alt, TABLE_STEPS.0),
            Regular::new(aot, TABLE_STEPS.1),
            Regular::new(wv, TABLE_STEPS.2),
        );
        let nodes: Vec<Terms> = (0..alt.n * aot.n * wv.n)
            .into_par_iter()
            .map(|k| {
                let (i, j, l) = (k / (aot.n * wv.n), (k / wv.n) % aot.n, k % wv.n);
                luts.terms(&at(alt.node(i), aot.node(j), wv.node(l)))
            })
            .collect();
        let mut clamped: Vec<String> = nodes.iter().flat_map(|t| t.clamped.clone()).collect();
        clamped.sort();
        clamped.dedup();
        if !clamped.is_empty() {
            return Err(clamped);
        }
        Ok(TermTable {
            alt,
            aot,
            wv,
            data: nodes
                .iter()
                .map(|t| PointTerms::from(t).to_array())
                .collect(),
        })
    }

    /// The terms at (altitude m, AOT, WV g/cm²), clamped to the table's ranges.
    pub fn at(&self, alt: f64, aot: f64, wv: f64) -> PointTerms {
        let (i, fi) = self.alt.locate(alt);
        let (j, fj) = self.aot.locate(aot);
        let (l, fl) = self.wv.locate(wv);
        let (na, nw) = (self.aot.n, self.wv.n);
        let next = |r: &Regular| usize::from(r.n > 1);
        let (di, dj, dl) = (next(&self.alt), next(&self.aot), next(&self.wv));
        let mut out = [0.0; 7];
        for (a, wa) in [(i, 1.0 - fi), (i + di, fi)] {
            for (o, wo) in [(j, 1.0 - fj), (j + dj, fj)] {
                for (v, wv) in [(l, 1.0 - fl), (l + dl, fl)] {
                    let w = wa * wo * wv;
                    let node = &self.data[(a * na + o) * nw + v];
                    for (x, y) in out.iter_mut().zip(node) {
                        *x += w * y;
                    }
                }
            }
        }
        PointTerms::from_array(out)
    }
}

/// The DEM's slopes ([`Gradient`]) and the sun incidence they give.
#[derive(Debug, Clone, PartialEq)]
pub struct Terrain(pub Gradient);

impl Terrain {
    pub fn of(dem: &Dem) -> Self {
        Terrain(Gradient::of(dem))
    }

    /// Sun incidence at (E, N) for the sun along `sun` ([`sun_vector`]). With slope β and
    /// aspect A (downslope azimuth) of the gradient g, cos i = cos θs cos β + sin θs sin β
    /// cos(φs − A), computed as the dot product of the unit normal (−g, 1)/|(−g, 1)| with the
    /// sun direction.
    pub fn lighting(&self, e: f64, n: f64, sun: [f64; 3]) -> Lighting {
        let (gx, gy) = self.0.at(e, n);
        let norm = (1.0 + gx * gx + gy * gy).sqrt();
        Lighting {
            cos_sza: sun[2],
            cos_slope: 1.0 / norm,
            cos_i: (sun[2] - gx * sun[0] - gy * sun[1]) / norm,
        }
    }
}

/// Unit vector (east, north, up) towards a sun at (`zenith`, `azimuth`) degrees.
pub fn sun_vector(zenith: f64, azimuth: f64) -> [f64; 3] {
    let (sz, cz) = zenith.to_radians().sin_cos();
    let (sa, ca) = azimuth.to_radians().sin_cos();
    [sz * sa, sz * ca, cz]
}

/// The coarse raster of [`ENV_CELL_M`] cells the environment means and the AOT and WV fields
/// are held on, sampled bilinearly between cell centres.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Coarse {
    ulx: f64,
    uly: f64,
    width: usize,
    height: usize,
}

/// Bilinear weights of one point on the coarse raster.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CellWeights {
    idx: [usize; 4],
    w: [f64; 4],
}

impl CellWeights {
    fn apply(&self, v: impl Fn(usize) -> f64) -> f64 {
        (0..4).map(|k| self.w[k] * v(self.idx[k])).sum()
    }
}

impl Coarse {
    /// The raster covering `dem`.
    fn over(dem: &Dem) -> Self {
        Coarse {
            ulx: dem.ulx,
            uly: dem.uly,
            width: ((dem.width as f64 * dem.pixel) / ENV_CELL_M).ceil() as usize,
            height: ((dem.height as f64 * dem.pixel) / ENV_CELL_M).ceil() as usize,
        }
    }

    fn cells(&self) -> usize {
        self.width * self.height
    }

    fn centre(&self, k: usize) -> (f64, f64) {
        let (r, c) = (k / self.width, k % self.width);
        (
            self.ulx + (c as f64 + 0.5) * ENV_CELL_M,
            self.uly - (r as f64 + 0.5) * ENV_CELL_M,
        )
    }

    /// Weights at map point (E, N), clamped to the outer cell centres.
    fn weights(&self, e: f64, n: f64) -> CellWeights {
        let x = ((e - self.ulx) / ENV_CELL_M - 0.5).clamp(0.0, (self.width - 1) as f64);
        let y = ((self.uly - n) / ENV_CELL_M - 0.5).clamp(0.0, (self.height - 1) as f64);
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let w = self.width;
        CellWeights {
            idx: [y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1],
            w: [
                (1.0 - fx) * (1.0 - fy),
                fx * (1.0 - fy),
                (1.0 - fx) * fy,
                fx * fy,
            ],
        }
    }

    /// The mean of `data` around each cell, per band, weighted by `windows[b]`.
    fn window_mean(&self, data: &[[f32; NB]], windows: &[Window]) -> Vec<[f32; NB]> {
        let (w, h) = (self.width, self.height);
        let mut out = vec![[0f32; NB]; w * h];
        // as many bands at once as there are threads: the 12 bands' means held apart beside
        // their interleaved copy cost a long scene 80 MB at its peak
        let bands: Vec<usize> = (0..NB).collect();
        for some in bands.chunks(rayon::current_num_threads().max(1)) {
            let means: Vec<Vec<f32>> = some
                .par_iter()
                .map(|&b| {
                    let sat = SummedArea::new(w, h, |k| f64::from(data[k][b]));
                    (0..w * h)
                        .map(|k| windows[b].mean_at(&sat, k / w, k % w) as f32)
                        .collect()
                })
                .collect();
            for (&b, mean) in some.iter().zip(means) {
                for (o, v) in out.iter_mut().zip(mean) {
                    o[b] = v;
                }
            }
        }
        out
    }
}

/// Conditions at one ground point, shared by its 12 bands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub e: f64,
    pub n: f64,
    pub h: f64,
    pub aot: f64,
    pub wv: f64,
    pub light: Lighting,
    cell: CellWeights,
}

/// One band's truth at one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandTruth {
    /// Intrinsic (flat-terrain Lambertian) surface reflectance: FRE.
    pub fre: f64,
    /// Apparent surface reflectance of the flat-terrain model: SRE.
    pub sre: f64,
    pub toa: f64,
}

/// The atmosphere over one simulated scene.
#[derive(Debug, Clone)]
pub struct Atmosphere {
    pub model: String,
    pub aot_mean: f64,
    pub wv_mean: f64,
    pub geometry: CentreGeometry,
    /// Per band, the weighting of ρ_env (at the scene-mean altitude, AOT and WV).
    pub environment: Vec<EnvFunction>,
    sun: [f64; 3],
    tables: Vec<TermTable>,
    terrain: Terrain,
    coarse: Coarse,
    /// Per coarse cell: (AOT, WV), ρ̄ and ρ_env per band.
    fields: Vec<[f64; 2]>,
    rho_bar: Vec<[f32; NB]>,
    rho_env: Vec<[f32; NB]>,
}

/// What `truth/atmosphere.json` records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtmosphereRecord {
    pub aerosol_model: String,
    pub aot_mean: f64,
    pub wv_mean: f64,
    pub field_spread: f64,
    pub field_scale_m: f64,
    /// Side of the square ρ̄ (the ground facing slopes) is the mean over, metres.
    pub terrain_side_m: f64,
    /// How ρ_env weights the ground around a point.
    pub environment: EnvironmentRecord,
    pub geometry: CentreGeometry,
}

/// The weighting of ρ_env, in `truth/atmosphere.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvironmentRecord {
    pub function: &'static str,
    pub cell_m: f64,
    /// Per band B01..B12.
    pub bands: Vec<EnvFunction>,
}

/// What [`EnvironmentRecord::function`] says.
pub const ENVIRONMENT_FUNCTION: &str = "6S ENVIRO.f, satellite level: F(r) of Rayleigh and \
     aerosol, view-angle corrected, weighted by their diffuse upward transmissions; weights \
     beyond the DEM raster spread over it";

impl Atmosphere {
    /// The atmosphere of `spec` over `land` and its `dem`, at the scene-centre `geometry`;
    /// `seed` and `origin` key its random fields.
    pub fn new(
        spec: &AtmosphereSpec,
        luts: &LutSet,
        geometry: CentreGeometry,
        seed: u64,
        origin: (f64, f64),
        land: &Landscape,
        dem: &Dem,
    ) -> Result<Self> {
        let field = |k: u64| Field {
            seed: mix(seed ^ k.wrapping_mul(0x5bd1_e995_0000_0001)),
            scale: FIELD_SCALE_M,
            octaves: 2,
        };
        let (h_lo, h_hi, h_mean, _) = dem.statistics();
        let range = |m: f64| (m * (1.0 - FIELD_SPREAD), m * (1.0 + FIELD_SPREAD));
        let (tables, environment): (Vec<_>, Vec<_>) = BANDS
            .iter()
            .enumerate()
            .map(|(b, band)| {
                let l = luts.band(band.code).ok_or_else(|| {
                    VipError::bad_input(&spec.luts, format!("no LUT for band {}", band.code))
                })?;
                let at = |alt, aot, wv| geometry.conditions(b, alt, aot, wv);
                let table = TermTable::new(
                    l,
                    at,
                    (h_lo, h_hi),
                    range(spec.aot_mean),
                    range(spec.wv_mean),
                )
                .map_err(|axes| {
                    VipError::Usage(format!(
                        "--luts {}: the scene leaves the LUT set ({} out of range): change \
                         --aot, --wv, --relief or the date",
                        spec.luts.display(),
                        axes.join(", ")
                    ))
                })?;
                let f = EnvFunction::of(l, &at(h_mean, spec.aot_mean, spec.wv_mean));
                Ok((table, f))
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        let coarse = Coarse::over(dem);
        let (aot, wv) = (field(101), field(102));
        let spread = |f: &Field, mean: f64, (e, n): (f64, f64)| {
            let v = f.at(e - origin.0, n - origin.1);
            mean * (1.0 + FIELD_SPREAD * (2.0 * v - 1.0))
        };
        let fields = (0..coarse.cells())
            .into_par_iter()
            .map(|k| {
                let c = coarse.centre(k);
                [spread(&aot, spec.aot_mean, c), spread(&wv, spec.wv_mean, c)]
            })
            .collect();
        let mut atm = Atmosphere {
            model: luts.model.clone(),
            aot_mean: spec.aot_mean,
            wv_mean: spec.wv_mean,
            sun: sun_vector(geometry.sun_zenith, geometry.sun_azimuth),
            geometry,
            environment,
            tables,
            terrain: Terrain::of(dem),
            coarse,
            fields,
            rho_bar: vec![],
            rho_env: vec![],
        };
        // ρ at every cell centre, then its box mean ρ̄; then ρ_app (which needs ρ̄) and its
        // environment mean ρ_env.
        let rho: Vec<[f64; NB]> = (0..coarse.cells())
            .into_par_iter()
            .map(|k| {
                let (e, n) = coarse.centre(k);
                land.reflectance(e, n, dem.height(e, n))
            })
            .collect();
        let rho32: Vec<[f32; NB]> = rho.iter().map(|r| r.map(|v| v as f32)).collect();
        let square = Window::square(ENV_SIDE_M, ENV_CELL_M);
        atm.rho_bar = coarse.window_mean(&rho32, &vec![square; NB]);
        // (each grid freed once used: on a long scene they are 80 to 160 MB each)
        drop(rho32);
        let app: Vec<[f32; NB]> = (0..coarse.cells())
            .into_par_iter()
            .map(|k| {
                let (e, n) = coarse.centre(k);
                let p = atm.point(e, n, dem.height(e, n));
                std::array::from_fn(|b| atm.apparent(&p, b, rho[k][b]).0 as f32)
            })
            .collect();
        drop(rho);
        let reach = coarse.width.max(coarse.height);
        let windows: Vec<Window> = atm
            .environment
            .iter()
            .map(|f| Window::environment(f, ENV_CELL_M, reach))
            .collect();
        atm.rho_env = coarse.window_mean(&app, &windows);
        Ok(atm)
    }

    /// Bytes it holds for the whole scene (its cell grids and the terrain's gradient).
    pub fn held_bytes(&self) -> u64 {
        (std::mem::size_of_val(&self.fields[..])
            + std::mem::size_of_val(&self.rho_bar[..])
            + std::mem::size_of_val(&self.rho_env[..])) as u64
            + self.terrain.0.bytes()
    }

    /// Aerosol optical thickness at 550 nm at map point (E, N).
    pub fn aot(&self, e: f64, n: f64) -> f64 {
        self.coarse.weights(e, n).apply(|k| self.fields[k][0])
    }

    /// Water-vapour column at map point (E, N), g/cm².
    pub fn wv(&self, e: f64, n: f64) -> f64 {
        self.coarse.weights(e, n).apply(|k| self.fields[k][1])
    }

    /// The conditions at ground point (E, N) of altitude `h`.
    pub fn point(&self, e: f64, n: f64, h: f64) -> Point {
        let cell = self.coarse.weights(e, n);
        Point {
            e,
            n,
            h,
            aot: cell.apply(|k| self.fields[k][0]),
            wv: cell.apply(|k| self.fields[k][1]),
            light: self.terrain.lighting(e, n, self.sun),
            cell,
        }
    }

    /// The terms of band `b` at `p` (trilinear in the dense table).
    pub fn terms(&self, p: &Point, b: usize) -> PointTerms {
        self.tables[b].at(p.h, p.aot, p.wv)
    }

    fn apparent(&self, p: &Point, b: usize, rho: f64) -> (f64, PointTerms) {
        let t = self.terms(p, b);
        let rho_bar = p.cell.apply(|k| f64::from(self.rho_bar[k][b]));
        (t.apparent(rho, rho_bar, &p.light), t)
    }

    /// The landscape's mean intrinsic reflectance in band `b` around `p` (the coarse cells'
    /// mean, as the adjacency effect uses it).
    pub fn mean_reflectance(&self, p: &Point, b: usize) -> f64 {
        p.cell.apply(|k| f64::from(self.rho_bar[k][b]))
    }

    /// Truth of band `b` at `p` whose intrinsic surface reflectance is `rho`.
    pub fn band(&self, p: &Point, b: usize, rho: f64) -> BandTruth {
        let (sre, t) = self.apparent(p, b, rho);
        BandTruth {
            fre: rho,
            sre,
            toa: t.toa(sre, p.cell.apply(|k| f64::from(self.rho_env[k][b]))),
        }
    }

    /// What `truth/atmosphere.json` records.
    pub fn record(&self) -> AtmosphereRecord {
        AtmosphereRecord {
            aerosol_model: self.model.clone(),
            aot_mean: self.aot_mean,
            wv_mean: self.wv_mean,
            field_spread: FIELD_SPREAD,
            field_scale_m: FIELD_SCALE_M,
            terrain_side_m: ENV_SIDE_M,
            environment: EnvironmentRecord {
                function: ENVIRONMENT_FUNCTION,
                cell_m: ENV_CELL_M,
                bands: self.environment.clone(),
            },
            geometry: self.geometry.clone(),
        }
    }
}

/// Copies every file of the LUT GIPPs of every aerosol model that [`LutSet::read`] reads from
/// `from` (each header and its `.DBL.DIR`) into `to`: the L2 may choose among them.
pub fn copy_lut_gipps(from: &Path, to: &Path) -> Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(from)
        .map_err(|e| VipError::bad_input(from, e))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    for (model, kind) in LutSet::models(from)?
        .iter()
        .flat_map(|m| LutSet::KINDS.map(|k| (m.as_str(), k)))
    {
        let prefix = format!("_GIP_{}_L_{model}_", kind.code());
        let Some(hdr) = names
            .iter()
            .rfind(|n| n.contains(&prefix) && n.ends_with(".HDR"))
        else {
            // the phase function is optional (a set without one is interpolated plainly)
            if kind == LutKind::Phas {
                continue;
            }
            return Err(VipError::bad_input(
                from,
                format!("no GIP_{} GIPP for aerosol model {model}", kind.code()),
            ));
        };
        let stem = hdr.trim_end_matches(".HDR");
        copy_tree(&from.join(hdr), &to.join(hdr))?;
        let dbl = format!("{stem}.DBL.DIR");
        if from.join(&dbl).is_dir() {
            copy_tree(&from.join(&dbl), &to.join(&dbl))?;
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| VipError::output_io(to, &e))?;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(from)
            .map_err(|e| VipError::bad_input(from, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            copy_tree(&e, &to.join(e.file_name().expect("entry has a name")))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| VipError::output_io(to, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luts() -> LutSet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/luts");
        LutSet::read(&dir, crate::atmosphere::luts::DEFAULT_MODEL).unwrap()
    }

    fn geometry() -> CentreGeometry {
        CentreGeometry {
            sun_zenith: 41.3,
            sun_azimuth: 160.2,
            view_zenith: std::array::from_fn(|b| 3.0 + 0.5 * b as f64),
            view_azimuth: std::array::from_fn(|b| 100.0 + 3.0 * b as f64),
        }
    }

    #[test]
    fn relative_azimuth_is_folded_and_zero_in_backscattering() {
        let mut g = geometry();
        g.view_azimuth[0] = g.sun_azimuth;
        assert_eq!(g.relative_azimuth(0), 0.0);
        g.sun_azimuth = 350.0;
        g.view_azimuth[0] = 10.0;
        assert!((g.relative_azimuth(0) - 20.0).abs() < 1e-12);
        g.view_azimuth[0] = 170.0;
        assert!((g.relative_azimuth(0) - 180.0).abs() < 1e-12);
    }

    /// The dense table against the LUT set's own interpolation, in TOA reflectance, at
    /// points between the nodes over the widest field ranges of the defaults and beyond.
    #[test]
    fn dense_table_agrees_with_the_lut_interpolation() {
        let set = luts();
        let g = geometry();
        let mut worst: f64 = 0.0;
        for (b, (_, l)) in set.bands.iter().enumerate() {
            for (aot_m, wv_m) in [(0.2, 2.0), (0.5, 4.0), (0.06, 0.8)] {
                let (aot, wv) = ((0.75 * aot_m, 1.25 * aot_m), (0.75 * wv_m, 1.25 * wv_m));
                let at = |alt, aot, wv| g.conditions(b, alt, aot, wv);
                let t = TermTable::new(l, at, (150.0, 2900.0), aot, wv).unwrap();
                for k in 0..40 {
                    let f = |i: u64| super::super::noise::unit(mix(k * 7 + i + 1000 * b as u64));
                    let alt = 150.0 + 2750.0 * f(1);
                    let a = aot.0 + (aot.1 - aot.0) * f(2);
                    let w = wv.0 + (wv.1 - wv.0) * f(3);
                    let exact = l.terms(&g.conditions(b, alt, a, w));
                    let fast = t.at(alt, a, w);
                    for rho in [0.0, 0.05, 0.3, 0.9] {
                        worst = worst.max((exact.toa(rho) - fast.toa(rho, rho)).abs());
                    }
                }
            }
        }
        eprintln!("worst TOA difference of the dense table: {worst:.2e}");
        assert!(worst < 1e-4, "{worst}");
    }

    #[test]
    fn flat_uniform_ground_gives_the_lut_toa() {
        let set = luts();
        let g = geometry();
        let light = Lighting {
            cos_sza: g.sun_zenith.to_radians().cos(),
            cos_slope: 1.0,
            cos_i: g.sun_zenith.to_radians().cos(),
        };
        for (b, (_, l)) in set.bands.iter().enumerate() {
            let exact = l.terms(&g.conditions(b, 640.0, 0.23, 1.7));
            let t = PointTerms::from(&exact);
            for rho in [0.0, 0.02, 0.2, 0.5, 0.9] {
                let app = t.apparent(rho, rho, &light);
                assert!((app - rho).abs() < 1e-12);
                assert!((t.toa(app, rho) - exact.toa(rho)).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn slopes_lit_by_the_sun_brighten_and_slopes_facing_away_darken() {
        let t = PointTerms::from(
            &luts().bands[6]
                .1
                .terms(&geometry().conditions(6, 500.0, 0.2, 2.0)),
        );
        // a 30° slope: towards the sun (aspect = sun azimuth + 180°: the downslope faces it)
        let dem = |gx: f64, gy: f64| Dem {
            ulx: 0.0,
            uly: 1000.0,
            pixel: 20.0,
            width: 50,
            height: 50,
            data: (0..2500)
                .map(|k| (500.0 + gx * (k % 50) as f64 * 20.0 - gy * (k / 50) as f64 * 20.0) as f32)
                .collect(),
        };
        let (sz, az) = (40.0f64, 180.0f64);
        let s = 30f64.to_radians().tan();
        let sun = sun_vector(sz, az);
        let facing = Terrain::of(&dem(0.0, s)).lighting(500.0, 500.0, sun);
        let away = Terrain::of(&dem(0.0, -s)).lighting(500.0, 500.0, sun);
        assert!((facing.cos_slope - 30f64.to_radians().cos()).abs() < 1e-6);
        assert!(
            (facing.cos_i - 10f64.to_radians().cos()).abs() < 1e-6,
            "{facing:?}"
        );
        assert!(
            (away.cos_i - 70f64.to_radians().cos()).abs() < 1e-6,
            "{away:?}"
        );
        let rho = 0.2;
        assert!(t.apparent(rho, rho, &facing) > rho);
        assert!(t.apparent(rho, rho, &away) < rho);
        // self shadow: only the sky and the ground light the slope
        let steep = (80f64).to_radians().tan();
        let dark = Terrain::of(&dem(0.0, -steep)).lighting(500.0, 500.0, sun);
        assert!(dark.cos_i < 0.0);
        let dif = t.t_down - t.t_down_dir;
        let want = rho
            * (dif * (1.0 + dark.cos_slope) / 2.0 + t.t_down * rho * (1.0 - dark.cos_slope) / 2.0)
            / t.t_down;
        assert!((t.apparent(rho, rho, &dark) - want).abs() < 1e-12);
    }

    #[test]
    fn box_means_cover_the_environment_square() {
        let c = Coarse {
            ulx: 0.0,
            uly: 0.0,
            width: 100,
            height: 60,
        };
        let data: Vec<[f32; NB]> = (0..6000)
            .map(|k| std::array::from_fn(|b| ((k % 100) + b) as f32))
            .collect();
        let m = c.window_mean(&data, &vec![Window::square(ENV_SIDE_M, ENV_CELL_M); NB]);
        // inside: the mean of a linear ramp over a centred square is the centre value
        assert_eq!(m[30 * 100 + 50][0], 50.0);
        assert_eq!(m[30 * 100 + 50][3], 53.0);
        // at the left edge: columns 0..=22 only
        assert_eq!(m[30 * 100][0], 11.0);
        let at = |e: f64| {
            c.weights(e, -30.5 * ENV_CELL_M)
                .apply(|k| f64::from(m[k][0]))
        };
        assert_eq!(at(50.5 * ENV_CELL_M), 50.0);
        assert_eq!(at(51.0 * ENV_CELL_M), 50.5);
    }
}
