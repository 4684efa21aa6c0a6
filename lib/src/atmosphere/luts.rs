//! The radiative-transfer LUT set of one aerosol model and the atmospheric terms it gives.
//!
//! For a uniform Lambertian surface of reflectance ρ, 6S (and VIP) writes the TOA reflectance
//!
//! ```text
//! ρ_TOA = Tg(0)·ρ_R + Tg(U/2)·(ρ_path − ρ_R) + Tg(U)·T↓·T↑·ρ / (1 − S·ρ)
//! ```
//!
//! with ρ_path the gas-free path reflectance (ρ_R its value without aerosols), T↓ = T(θs) and
//! T↑ = T(θv) the total (direct + diffuse) transmissions, S the spherical albedo and Tg(U) the
//! gaseous transmission for a water-vapour column U (6S mixes water vapour with the aerosols,
//! so their path term sees half the column and Rayleigh's none). With
//! `tg_path = [Tg(0)·ρ_R + Tg(U/2)·(ρ_path − ρ_R)] / ρ_path` this is the usual
//! `ρ_TOA = tg_path·ρ_path + Tg·T↓T↑ρ/(1 − Sρ)`, inverted as
//! `y = (ρ_TOA − tg_path·ρ_path) / (Tg·T↓T↑)`, `ρ = y / (1 + S·y)`.
//!
//! Storage, as GIPPs: ρ_path inside L2TOCR (the VENµS inverse LUT of gas-free TOA → surface
//! reflectance, from which ρ_path is recovered exactly), T_dir and T_dif in L2DIRT/L2DIFT, S
//! in L2ALBD, Tg in the VIP extension L2GAST.

use std::path::{Path, PathBuf};

use super::single_scattering::{AtAngles, SingleScattering};
use super::table::{Axis, Slice, Table, Weights};
use crate::ee::gipps::GippCommon;
use crate::ee::lut::{read_lut_header, write_lut_header, LutKind};
use crate::error::{Result, VipError};
use crate::mission::venus::BANDS;

/// The aerosol model of a site that names none, and of the simulator unless told.
pub const DEFAULT_MODEL: &str = "CONTINEN";

/// The TOA axis VIP writes in L2TOCR (the one of the ICD example).
const TOCR_TOA: [f64; 7] = [-0.2, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0];

/// Conditions of one pixel (or one probe case).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Sun zenith angle, degrees.
    pub sza: f64,
    /// View zenith angle, degrees.
    pub vza: f64,
    /// Relative azimuth |φsun − φview|, degrees, 0 = backscattering.
    pub raa: f64,
    /// Aerosol optical thickness at 550 nm.
    pub aot: f64,
    /// Water-vapour column, g/cm².
    pub wv: f64,
    /// Altitude, metres.
    pub alt: f64,
}

/// The atmospheric terms of one band under some conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Terms {
    /// Gas-free path (intrinsic atmospheric) reflectance.
    pub rho_path: f64,
    /// Its value without aerosols (Rayleigh).
    pub rho_r: f64,
    /// Gaseous transmission of the path term.
    pub tg_path: f64,
    /// Gaseous transmission, sun to surface to sensor.
    pub tg: f64,
    /// Total transmission on the sun path and on the view path.
    pub t_down: f64,
    pub t_up: f64,
    /// Direct parts of t_down and t_up.
    pub t_down_dir: f64,
    pub t_up_dir: f64,
    /// Spherical albedo.
    pub s: f64,
    /// LUT axes the conditions fell outside of (values clamped to the edge).
    pub clamped: Vec<String>,
}

impl Terms {
    /// TOA reflectance over a uniform Lambertian surface of reflectance `rho`.
    pub fn toa(&self, rho: f64) -> f64 {
        self.tg_path * self.rho_path
            + self.tg * self.t_down * self.t_up * rho / (1.0 - self.s * rho)
    }

    /// Surface reflectance from the TOA reflectance (inverse of [`Terms::toa`]).
    pub fn surface(&self, toa: f64) -> f64 {
        let y = (toa - self.tg_path * self.rho_path) / (self.tg * self.t_down * self.t_up);
        y / (1.0 + self.s * y)
    }
}

/// The tables of one band.
#[derive(Debug, Clone, PartialEq)]
pub struct BandLuts {
    /// ρ_path over (θs, θv, φ, altitude m, AOT).
    pub path: Table,
    /// T_dir and T_dif over (zenith, altitude m, AOT).
    pub dirt: Table,
    pub dift: Table,
    /// S over (altitude m, AOT).
    pub albd: Table,
    /// Tg over (θs, θv, altitude m, water vapour).
    pub gast: Table,
    /// The single-scattering aerosol term, interpolated apart when the set has an L2PHAS
    /// table ([`crate::atmosphere::single_scattering`]).
    pub single: Option<SingleScattering>,
    /// ln T_dir (the column's optical depth, for the single-scattering term) and
    /// ln (T_dir + T_dif): along the AOT the total transmissions are interpolated in logarithm
    /// ([`log_along_aot`]). They fall nearly exponentially with it, steeply at grazing sun: at
    /// sun zenith 77° and AOT 0.7 a cubic in T misses 6S's urban transmission by 2.7 %, one in
    /// ln T by 0.05 %. Interpolating the sum, not its parts, keeps the diffuse part's rise and
    /// fall with the AOT out of it.
    ln_dir: Table,
    ln_total: Table,
}

impl BandLuts {
    /// The tables of one band; with the aerosol phase function `phase` (ω·P over the
    /// scattering angle), the path reflectance's single-scattering term is split off.
    pub fn new(
        path: Table,
        dirt: Table,
        dift: Table,
        albd: Table,
        gast: Table,
        phase: Option<Table>,
    ) -> BandLuts {
        let single = phase.map(|p| SingleScattering::new(&path, p));
        let ln = |data: Vec<f32>| Table {
            axes: dirt.axes.clone(),
            data,
        };
        let ln_dir = ln(dirt
            .data
            .iter()
            .map(|&d| d.max(f32::MIN_POSITIVE).ln())
            .collect());
        let ln_total = ln(dirt
            .data
            .iter()
            .zip(&dift.data)
            .map(|(&d, &f)| (d + f).max(f32::MIN_POSITIVE).ln())
            .collect());
        BandLuts {
            path,
            dirt,
            dift,
            albd,
            gast,
            single,
            ln_dir,
            ln_total,
        }
    }

    /// The terms under `c`.
    pub fn terms(&self, c: &Conditions) -> Terms {
        self.at_geometry(c.sza, c.vza, c.raa)
            .terms(c.alt, c.aot, c.wv)
    }

    /// The tables at the sun zenith `sza`, view zenith `vza` and relative azimuth `raa`
    /// (degrees), for terms at many altitudes, AOTs and water-vapour columns there.
    pub fn at_geometry(&self, sza: f64, vza: f64, raa: f64) -> AtGeometry<'_> {
        let mut clamped = vec![];
        fn note<'a>(
            clamped: &mut Vec<String>,
            (slice, names): (Slice<'a>, Vec<String>),
        ) -> Slice<'a> {
            merge(clamped, names);
            slice
        }
        let down_dir = note(&mut clamped, self.dirt.fix_leading(&[sza]));
        let up_dir = note(&mut clamped, self.dirt.fix_leading(&[vza]));
        let path = note(&mut clamped, self.path.fix_leading(&[sza, vza, raa]));
        let gast = note(&mut clamped, self.gast.fix_leading(&[sza, vza]));
        let single = self.single.as_ref().map(|s| {
            let (at, names) = s.at_angles(&self.path, &[sza, vza, raa]);
            merge(&mut clamped, names);
            at
        });
        AtGeometry {
            luts: self,
            sza,
            vza,
            path,
            single,
            down_dir,
            up_dir,
            gast,
            clamped,
        }
    }
}

/// The tables of one band at one geometry, their sums over the angles taken once
/// ([`BandLuts::at_geometry`]): a coarse cell's terms at each AOT of a search, or at each
/// water-vapour column of one, cost a few dozen table nodes instead of a thousand.
#[derive(Debug, Clone)]
pub struct AtGeometry<'a> {
    luts: &'a BandLuts,
    sza: f64,
    vza: f64,
    /// ρ_path over (altitude, AOT).
    path: Slice<'a>,
    /// The single-scattering aerosol term at the geometry, when the set has one.
    single: Option<AtAngles>,
    /// T_dir along the sun path and along the view path, over (altitude, AOT).
    down_dir: Slice<'a>,
    up_dir: Slice<'a>,
    /// Tg over (altitude, water vapour).
    gast: Slice<'a>,
    /// Angle axes the geometry fell outside of.
    clamped: Vec<String>,
}

impl AtGeometry<'_> {
    /// The terms at altitude `alt` (m), AOT `aot` and water vapour `wv` (g/cm²).
    pub fn terms(&self, alt: f64, aot: f64, wv: f64) -> Terms {
        let l = self.luts;
        let mut clamped = self.clamped.clone();
        // every table but GAST has the L2TOCR's altitude and AOT axes (check_axes): their
        // weights are found once
        let axes = &l.albd.axes;
        let (wa, wt, w0) = (
            noted_weights(&axes[0], alt, &mut clamped),
            noted_weights(&axes[1], aot, &mut clamped),
            noted_weights(&axes[1], 0.0, &mut clamped),
        );
        let zenith = |x: f64| l.ln_total.axes[0].weights(x).0;
        // T_dir stays a cubic in T: in logarithm it would be exact along the AOT, but that
        // moves the direct share of the light on slopes enough to flip a false cloud on the
        // March alpine series of the cloud tests (a threshold to look into first)
        let t_down_dir = self.down_dir.at(&[wa, wt]);
        let t_up_dir = self.up_dir.at(&[wa, wt]);
        let t_down = log_along_aot(&l.ln_total, &[zenith(self.sza), wa, wt]);
        let t_up = log_along_aot(&l.ln_total, &[zenith(self.vza), wa, wt]);
        let rho_r = self.path.at(&[wa, w0]);
        let mut rho_path = self.path.at(&[wa, wt]);
        if let Some(single) = &self.single {
            let z0 = l.dirt.axes[0].values[0];
            let mu0 = z0.to_radians().cos();
            let wz = zenith(z0);
            let tau = -mu0 * l.ln_dir.partial(&[wz, wa, wt], 0, 0);
            let tau_r = -mu0 * l.ln_dir.partial(&[wz, wa, w0], 0, 0);
            rho_path += single.correction(tau, tau_r);
        }
        let s = l.albd.partial(&[wa, wt], 0, 0);
        let mut t = Terms {
            rho_path,
            rho_r,
            tg_path: 1.0,
            tg: 1.0,
            t_down,
            t_up,
            t_down_dir,
            t_up_dir,
            s,
            clamped,
        };
        self.set_vapour(&mut t, alt, wv);
        t
    }

    /// Recomputes the gaseous transmissions of `t` (made here at altitude `alt`) for the water
    /// vapour `wv`: the cheap part of [`AtGeometry::terms`].
    pub fn set_vapour(&self, t: &mut Terms, alt: f64, wv: f64) {
        let axes = self.gast.axes;
        let wa = noted_weights(&axes[0], alt, &mut t.clamped);
        let mut get = |wv: f64| {
            self.gast
                .at(&[wa, noted_weights(&axes[1], wv, &mut t.clamped)])
        };
        let (tg, tg_half, tg_dry) = (get(wv), get(wv / 2.0), get(0.0));
        t.tg = tg;
        t.tg_path = if t.rho_path > 0.0 {
            (tg_dry * t.rho_r + tg_half * (t.rho_path - t.rho_r)) / t.rho_path
        } else {
            tg_dry
        };
    }
}

/// The weights of `axis` at `x`, its name added to `clamped` when `x` was clamped.
fn noted_weights(axis: &Axis, x: f64, clamped: &mut Vec<String>) -> Weights {
    let (w, c) = axis.weights(x);
    if c {
        merge(clamped, vec![axis.name.clone()]);
    }
    w
}

/// Adds to `clamped` the axis names of `names` it does not hold yet.
fn merge(clamped: &mut Vec<String>, names: Vec<String>) {
    for a in names {
        if !clamped.contains(&a) {
            clamped.push(a);
        }
    }
}

/// A LUT set: one [`BandLuts`] per band (in band order), made for one aerosol model.
#[derive(Debug, Clone, PartialEq)]
pub struct LutSet {
    /// Applicability nick name of the GIPPs: the aerosol model (e.g. `CONTINEN`).
    pub model: String,
    /// Ozone content the gaseous transmissions were computed with, cm·atm.
    pub ozone: f64,
    pub bands: Vec<(String, BandLuts)>,
}

impl LutSet {
    /// The GIPP kinds of a set: L2PHAS optional, the others required.
    pub const KINDS: [LutKind; 6] = [
        LutKind::Tocr,
        LutKind::Dirt,
        LutKind::Dift,
        LutKind::Albd,
        LutKind::Gast,
        LutKind::Phas,
    ];

    /// The tables of `band` (`B01` ...).
    pub fn band(&self, band: &str) -> Option<&BandLuts> {
        self.bands.iter().find(|(b, _)| b == band).map(|(_, l)| l)
    }

    /// Builds a set from the raw 6S tables written by `scripts/sixs/make_luts.py`, of the
    /// aerosol model they name (`model` when they name none; naming another is bad input).
    pub fn from_sixs_json(path: &Path, model: Option<&str>) -> Result<LutSet> {
        let bad = |m: String| VipError::bad_input(path, m);
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let j: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let model = match (j["model"].as_str(), model) {
            (Some(t), Some(m)) if t != m => {
                return Err(bad(format!(
                    "the tables are of aerosol model {}, not {m}",
                    crate::error::bounded(t)
                )))
            }
            (Some(m), _) | (None, Some(m)) => m.to_string(),
            (None, None) => {
                return Err(bad(
                    "the tables name no aerosol model: say which (--model)".into()
                ))
            }
        };
        let list = |v: &serde_json::Value, what: &str| -> Result<Vec<f64>> {
            v.as_array()
                .and_then(|a| a.iter().map(|x| x.as_f64()).collect::<Option<Vec<f64>>>())
                .ok_or_else(|| bad(format!("{what} is not a list of numbers")))
        };
        let axes = &j["axes"];
        let ax = |name: &str| list(&axes[name], &format!("axes.{name}"));
        let (sza, vza, raa, aot, wv) = (ax("sza")?, ax("vza")?, ax("raa")?, ax("aot")?, ax("wv")?);
        let alt: Vec<f64> = ax("alt")?.iter().map(|km| km * 1000.0).collect();
        // tables made before the phase function was measured have none
        let theta = match axes["scattering_angle"].is_null() {
            true => None,
            false => Some(ax("scattering_angle")?),
        };
        if aot.first() != Some(&0.0) || wv.first() != Some(&0.0) {
            return Err(bad("the AOT and water-vapour axes must start at 0".into()));
        }
        let ozone = j["ozone_cm_atm"]
            .as_f64()
            .ok_or_else(|| bad("no ozone_cm_atm".into()))?;
        let table = |names: &[&str], values: &[&Vec<f64>], data: Vec<f64>| {
            let axes = names
                .iter()
                .zip(values)
                .map(|(n, v)| Axis::new(n, (*v).clone()))
                .collect();
            Table::new(axes, data.iter().map(|&v| v as f32).collect()).map_err(bad)
        };
        let mut bands = vec![];
        for b in BANDS.iter() {
            let code = b.code;
            let jb = &j["bands"][code];
            if jb.is_null() {
                continue;
            }
            let zen = list(&jb["zenith"], "zenith")?;
            let trans = list(&jb["transmission"], "transmission")?;
            let tau = list(&jb["optical_depth"], "optical_depth")?;
            let n_at = alt.len() * aot.len();
            if tau.len() != n_at || trans.len() != zen.len() * n_at {
                return Err(bad(format!(
                    "{code}: transmission tables do not fit the axes"
                )));
            }
            let mut dir = vec![];
            let mut dif = vec![];
            for (iz, z) in zen.iter().enumerate() {
                for k in 0..n_at {
                    let d = (-tau[k] / z.to_radians().cos()).exp();
                    dir.push(d);
                    dif.push(trans[iz * n_at + k] - d);
                }
            }
            let phase = match &theta {
                None => None,
                Some(theta) => Some(table(
                    LutKind::Phas.axes(),
                    &[theta],
                    list(&jb["phase"], "phase")?,
                )?),
            };
            bands.push((
                code.to_string(),
                BandLuts::new(
                    table(
                        &PATH_AXES,
                        &[&sza, &vza, &raa, &alt, &aot],
                        list(&jb["path"], "path")?,
                    )?,
                    table(&TRA_AXES, &[&zen, &alt, &aot], dir)?,
                    table(&TRA_AXES, &[&zen, &alt, &aot], dif)?,
                    table(
                        &[TRA_AXES[1], TRA_AXES[2]],
                        &[&alt, &aot],
                        list(&jb["spherical_albedo"], "spherical_albedo")?,
                    )?,
                    table(
                        LutKind::Gast.axes(),
                        &[&sza, &vza, &alt, &wv],
                        list(&jb["gas_transmission"], "gas_transmission")?,
                    )?,
                    phase,
                ),
            ));
        }
        if bands.is_empty() {
            return Err(bad("no band tables (B01 ... B12)".into()));
        }
        Ok(LutSet {
            model,
            ozone,
            bands,
        })
    }

    /// Writes the set as GIPPs (L2TOCR, L2DIRT, L2DIFT, L2ALBD, L2GAST, and L2PHAS when every
    /// band has its phase function) into `dir`; returns the headers written.
    pub fn write(&self, common: &GippCommon, dir: &Path) -> Result<Vec<PathBuf>> {
        let codes: Vec<&str> = self.bands.iter().map(|(b, _)| b.as_str()).collect();
        let mut out = vec![];
        let mut put = |kind: LutKind, tables: Vec<Table>, ozone: Option<f64>| -> Result<()> {
            let (hdr, files) = write_lut_header(common, kind, &tables[0].axes, &codes, ozone, dir)?;
            for (t, f) in tables.iter().zip(files) {
                t.write_mha(&f)?;
            }
            out.push(hdr);
            Ok(())
        };
        put(
            LutKind::Tocr,
            self.bands.iter().map(|(_, l)| tocr(l)).collect(),
            None,
        )?;
        put(
            LutKind::Dirt,
            self.bands.iter().map(|(_, l)| l.dirt.clone()).collect(),
            None,
        )?;
        put(
            LutKind::Dift,
            self.bands.iter().map(|(_, l)| l.dift.clone()).collect(),
            None,
        )?;
        put(
            LutKind::Albd,
            self.bands.iter().map(|(_, l)| l.albd.clone()).collect(),
            None,
        )?;
        put(
            LutKind::Gast,
            self.bands.iter().map(|(_, l)| l.gast.clone()).collect(),
            Some(self.ozone),
        )?;
        let phase: Option<Vec<Table>> = self
            .bands
            .iter()
            .map(|(_, l)| l.single.as_ref().map(|s| s.phase.clone()))
            .collect();
        if let Some(phase) = phase {
            put(LutKind::Phas, phase, None)?;
        }
        Ok(out)
    }

    /// The aerosol models with a LUT set in the GIPP folder `dir` (the applicability nick names
    /// of its L2TOCR GIPPs), sorted.
    pub fn models(dir: &Path) -> Result<Vec<String>> {
        let mut models: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| VipError::bad_input(dir, e))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".HDR"))
            .filter_map(|n| {
                let (_, rest) = n.split_once("_GIP_L2TOCR_L_")?;
                Some(rest.split('_').next()?.to_string())
            })
            .collect();
        models.sort();
        models.dedup();
        Ok(models)
    }

    /// Reads the set of aerosol model `model` from a GIPP folder (the newest serial key of
    /// each kind if several are there). Every table must share the axes of L2TOCR (sun and
    /// view zenith, altitude, AOT) and the transmissions must cover both zenith axes: a set
    /// whose files disagree is bad input naming the file.
    pub fn read(dir: &Path, model: &str) -> Result<LutSet> {
        let find = |kind: LutKind| -> Result<PathBuf> {
            let prefix = format!("_GIP_{}_L_{model}_", kind.code());
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| VipError::bad_input(dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.contains(&prefix) && n.ends_with(".HDR")
                })
                .collect();
            found.sort();
            found.pop().ok_or_else(|| {
                let what = match kind {
                    LutKind::Tocr => {
                        let available = LutSet::models(dir).unwrap_or_default();
                        format!(
                            "no LUT set for aerosol model {} (available: {})",
                            crate::error::bounded(model),
                            match available.is_empty() {
                                true => "none".to_string(),
                                false => available.join(", "),
                            }
                        )
                    }
                    _ => format!("no GIP_{} GIPP for aerosol model {model}", kind.code()),
                };
                VipError::bad_input(dir, what)
            })
        };
        let load = |kind: LutKind| -> Result<Loaded> {
            let hdr = find(kind)?;
            let h = read_lut_header(&hdr, kind)?;
            let tables = h
                .files
                .iter()
                .map(|(b, f)| Ok((b.clone(), Table::read_mha(f, h.axes.clone())?)))
                .collect::<Result<Vec<_>>>()?;
            Ok(Loaded {
                hdr,
                axes: h.axes,
                tables,
                ozone: h.ozone,
            })
        };
        let tocr = load(LutKind::Tocr)?;
        let [dirt, dift, albd, gast] =
            [LutKind::Dirt, LutKind::Dift, LutKind::Albd, LutKind::Gast].map(load);
        let (dirt, dift, albd, gast) = (dirt?, dift?, albd?, gast?);
        for other in [&dirt, &dift, &albd, &gast] {
            check_axes(&tocr, other)?;
        }
        // the phase function is optional: a set without one is interpolated plainly
        let phas = match find(LutKind::Phas) {
            Ok(_) => Some(load(LutKind::Phas)?),
            Err(_) => None,
        };
        let mut bands = vec![];
        for (b, tocr_b) in &tocr.tables {
            let pick = |l: &Loaded, kind: LutKind| {
                l.tables
                    .iter()
                    .find(|(c, _)| c == b)
                    .map(|(_, t)| t.clone())
                    .ok_or_else(|| {
                        VipError::bad_input(
                            dir,
                            format!("band {b} is in L2TOCR but not in {}", kind.code()),
                        )
                    })
            };
            let albd_b = pick(&albd, LutKind::Albd)?;
            let path = path_from_tocr(tocr_b, &albd_b)
                .map_err(|m| VipError::bad_input(&tocr.hdr, format!("band {b}: {m}")))?;
            let phase = match &phas {
                None => None,
                Some(l) => {
                    let t = pick(l, LutKind::Phas)?;
                    check_phase_span(&path, &t).map_err(|m| VipError::bad_input(&l.hdr, m))?;
                    Some(t)
                }
            };
            bands.push((
                b.clone(),
                BandLuts::new(
                    path,
                    pick(&dirt, LutKind::Dirt)?,
                    pick(&dift, LutKind::Dift)?,
                    albd_b,
                    pick(&gast, LutKind::Gast)?,
                    phase,
                ),
            ));
        }
        Ok(LutSet {
            model: model.to_string(),
            ozone: gast
                .ozone
                .expect("an L2GAST header always carries its ozone content"),
            bands,
        })
    }
}

/// A transmission from its logarithm `ln_t` over (zenith, altitude, AOT) with the weights `w`
/// along those axes: the logarithm interpolated along the AOT at each (zenith, altitude) node,
/// the transmissions then along zenith and altitude, as the other tables.
fn log_along_aot(ln_t: &Table, w: &[Weights; 3]) -> f64 {
    let n_alt = ln_t.axes[1].values.len();
    let mut value = 0.0;
    for (i, wi) in w[0].iter() {
        for (j, wj) in w[1].iter() {
            value += wi * wj * ln_t.partial(w, 2, i * n_alt + j).exp();
        }
    }
    value
}

/// Checks that the phase function's scattering angles span those of the path table's
/// geometry (else ρ₁ would be clamped where the path is not).
fn check_phase_span(path: &Table, phase: &Table) -> std::result::Result<(), String> {
    let (lo, hi) = SingleScattering::angles_needed(path);
    let v = &phase.axes[0].values;
    let (first, last) = (v[0], v[v.len() - 1]);
    if first > lo + 1e-6 || last < hi - 1e-6 {
        return Err(format!(
            "Scattering_Angle_Indexes span {first}-{last} degrees, the L2TOCR's geometry needs \
             {lo:.2}-{hi:.2}"
        ));
    }
    Ok(())
}

/// One LUT GIPP as read: its header, axes and per-band tables.
struct Loaded {
    hdr: PathBuf,
    axes: Vec<Axis>,
    tables: BandTables,
    ozone: Option<f64>,
}

/// Checks that the axes of `other` agree with those of the L2TOCR `tocr`: an axis of the same
/// name has the same nodes, and a zenith axis of the transmissions spans both the sun and the
/// view zenith axes (else the view or sun terms would be clamped where the path is not).
fn check_axes(tocr: &Loaded, other: &Loaded) -> Result<()> {
    let nodes = |a: &Axis| {
        a.values
            .iter()
            .map(|v| crate::ee::xml::num(*v))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for a in &other.axes {
        if let Some(t) = tocr.axes.iter().find(|t| t.name == a.name) {
            if t.values != a.values {
                return Err(VipError::bad_input(
                    &other.hdr,
                    format!(
                        "{} ({}) disagrees with the L2TOCR's ({})",
                        a.name,
                        nodes(a),
                        nodes(t)
                    ),
                ));
            }
        }
        if a.name == TRA_AXES[0] {
            let (lo, hi) = (a.values[0], a.values[a.values.len() - 1]);
            for t in &tocr.axes[..2] {
                if t.values[0] < lo || t.values[t.values.len() - 1] > hi {
                    return Err(VipError::bad_input(
                        &other.hdr,
                        format!(
                            "{} ({}) does not span the L2TOCR's {} ({})",
                            a.name,
                            nodes(a),
                            t.name,
                            nodes(t)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Per-band tables of one GIPP kind.
type BandTables = Vec<(String, Table)>;

const PATH_AXES: [&str; 5] = [
    "Solar_Zenith_Angle_Indexes",
    "View_Zenith_Angle_Indexes",
    "Relative_Azimuth_Angle_Indexes",
    "Altitude_Indexes",
    "AOT_Indexes",
];
const TRA_AXES: [&str; 3] = ["Zenithal_Angle_Indexes", "Altitude_Indexes", "AOT_Indexes"];

/// The L2TOCR table of a band: surface reflectance at each gas-free TOA node.
fn tocr(l: &BandLuts) -> Table {
    let p = &l.path;
    let mut axes = p.axes.clone();
    axes.push(Axis::new("TOA_Reflectance_Indexes", TOCR_TOA.to_vec()));
    let shape = p.shape();
    let mut data = Vec::with_capacity(p.data.len() * TOCR_TOA.len());
    let ax = |i: usize, k: usize| p.axes[i].values[k];
    for (flat, &path) in p.data.iter().enumerate() {
        let mut node = [0usize; 5];
        let mut r = flat;
        for d in (0..5).rev() {
            node[d] = r % shape[d];
            r /= shape[d];
        }
        let (alt, aot) = (ax(3, node[3]), ax(4, node[4]));
        let t = l.dirt.sample(&[ax(0, node[0]), alt, aot]).value
            + l.dift.sample(&[ax(0, node[0]), alt, aot]).value;
        let u = l.dirt.sample(&[ax(1, node[1]), alt, aot]).value
            + l.dift.sample(&[ax(1, node[1]), alt, aot]).value;
        let s = l.albd.sample(&[alt, aot]).value;
        for &toa in &TOCR_TOA {
            let y = (toa - f64::from(path)) / (t * u);
            data.push((y / (1.0 + s * y)) as f32);
        }
    }
    Table::new(axes, data).expect("TOCR shape follows the path table")
}

/// Recovers the gas-free path reflectance from an L2TOCR table: at each node the surface
/// reflectances ρ_k of the TOA nodes t_k give y_k = ρ_k / (1 − S·ρ_k), linear in t_k; the
/// least-squares line's zero is ρ_path.
fn path_from_tocr(tocr: &Table, albd: &Table) -> std::result::Result<Table, String> {
    let n = tocr.axes.len();
    if n != 6 {
        return Err(format!("L2TOCR has {n} axes, 6 expected"));
    }
    let toa = &tocr.axes[5].values;
    if toa.len() < 2 {
        return Err("L2TOCR needs at least 2 TOA reflectance nodes".into());
    }
    let axes: Vec<Axis> = tocr.axes[..5].to_vec();
    let shape: Vec<usize> = axes.iter().map(|a| a.values.len()).collect();
    let mut data = Vec::with_capacity(tocr.data.len() / toa.len());
    for (flat, chunk) in tocr.data.chunks_exact(toa.len()).enumerate() {
        let (alt_i, aot_i) = ((flat / shape[4]) % shape[3], flat % shape[4]);
        let s = albd
            .sample(&[axes[3].values[alt_i], axes[4].values[aot_i]])
            .value;
        let (mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0);
        for (&t, &r) in toa.iter().zip(chunk) {
            let y = f64::from(r) / (1.0 - s * f64::from(r));
            sx += t;
            sy += y;
            sxx += t * t;
            sxy += t * y;
        }
        let k = toa.len() as f64;
        let slope = (k * sxy - sx * sy) / (k * sxx - sx * sx);
        let icpt = (sy - slope * sx) / k;
        if slope.is_nan() || slope <= 0.0 {
            return Err(format!(
                "surface reflectance does not increase with TOA at node {flat}"
            ));
        }
        data.push((-icpt / slope) as f32);
    }
    Table::new(axes, data)
}

/// `vip-maccs lut-build`: the GIPPs of a LUT set from 6S tables, written into the output
/// folder (each GIPP built in a temporary folder there and moved in place when complete; an
/// existing GIPP is replaced only with `--overwrite`). Returns the headers written.
pub fn build_gipps(
    tables: &Path,
    model: Option<&str>,
    class: &str,
    opts: &crate::cli::Options,
) -> Result<Vec<PathBuf>> {
    use crate::ee::{naming, Applicability};
    let set = LutSet::from_sixs_json(tables, model)?;
    let model = set.model.as_str();
    let app = Applicability::List {
        nick: naming::nick_name(model).map_err(|e| VipError::Usage(format!("--model: {e}")))?,
        site_ids: vec![],
    };
    let date = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
    let validity = (
        date(0, 1, 1).and_hms_opt(0, 0, 0).expect("valid time"),
        date(9999, 12, 31)
            .and_hms_opt(23, 59, 59)
            .expect("valid time"),
    );
    let mut common = GippCommon::new(class, app, validity)
        .map_err(|e| VipError::Usage(format!("--class: {e}")))?;
    common.notes = format!(
        "6S LUT set, aerosol model {model}, ozone {} cm.atm, from {}",
        set.ozone,
        tables
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned())
    );
    let out = &opts.output;
    crate::raster::ensure_dir(out)?;
    let tmp = tempfile::Builder::new()
        .prefix(".vip-luts-")
        .tempdir_in(out)
        .map_err(|e| VipError::output(out, e))?;
    let headers = set.write(&common, tmp.path())?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(tmp.path())
        .map_err(|e| VipError::output(tmp.path(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in &entries {
        let dest = out.join(e.file_name().expect("entry has a name"));
        if dest.exists() && !opts.overwrite {
            return Err(VipError::output(&dest, crate::raster::EXISTS_MSG));
        }
    }
    for e in &entries {
        let dest = out.join(e.file_name().expect("entry has a name"));
        if dest.is_dir() {
            std::fs::remove_dir_all(&dest).map_err(|err| VipError::output(&dest, err))?;
        }
        std::fs::rename(e, &dest).map_err(|err| VipError::output(&dest, err))?;
    }
    Ok(headers
        .iter()
        .map(|h| out.join(h.file_name().expect("header has a name")))
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ee::gipp::Applicability;

    fn grid(names: &[&str], values: &[Vec<f64>], f: impl Fn(&[f64]) -> f64) -> Table {
        let axes: Vec<Axis> = names
            .iter()
            .zip(values)
            .map(|(n, v)| Axis::new(n, v.clone()))
            .collect();
        let mut data = vec![];
        let shape: Vec<usize> = values.iter().map(Vec::len).collect();
        let total: usize = shape.iter().product();
        for flat in 0..total {
            let mut r = flat;
            let mut x = vec![0.0; shape.len()];
            for d in (0..shape.len()).rev() {
                x[d] = values[d][r % shape[d]];
                r /= shape[d];
            }
            data.push(f(&x) as f32);
        }
        Table::new(axes, data).unwrap()
    }

    /// A made-up but physically shaped band: Rayleigh-like path growing with air mass and
    /// AOT, Beer-Lambert transmissions, water-vapour absorption exp(−`k`·U·m).
    pub(crate) fn band_with(k: f64) -> BandLuts {
        let (sza, vza, raa) = (
            vec![0.0, 30.0, 50.0, 70.0],
            vec![0.0, 20.0, 40.0],
            vec![0.0, 90.0, 180.0],
        );
        let (alt, aot, wv) = (
            vec![0.0, 1500.0, 3000.0],
            vec![0.0, 0.2, 0.5, 1.0],
            vec![0.0, 1.0, 3.0, 6.0],
        );
        let mu = |d: f64| d.to_radians().cos();
        let tau = |x: &[f64]| 0.1 * (-x[0] / 8000.0).exp() + 0.15 * x[1];
        BandLuts::new(
            grid(
                &PATH_AXES,
                &[sza.clone(), vza.clone(), raa, alt.clone(), aot.clone()],
                |x| {
                    (0.04 + 0.1 * x[4]) * (-x[3] / 8000.0).exp() * (1.0 / mu(x[0]) + 1.0 / mu(x[1]))
                        / 2.0
                        * (1.0 + 0.2 * x[2].to_radians().cos())
                },
            ),
            grid(&TRA_AXES, &[sza.clone(), alt.clone(), aot.clone()], |x| {
                (-tau(&x[1..]) / mu(x[0])).exp()
            }),
            grid(&TRA_AXES, &[sza.clone(), alt.clone(), aot.clone()], |x| {
                0.5 * (1.0 - (-tau(&x[1..]) / mu(x[0])).exp())
            }),
            grid(&TRA_AXES[1..], &[alt.clone(), aot], |x| 0.5 * tau(x)),
            grid(LutKind::Gast.axes(), &[sza, vza, alt, wv], |x| {
                (-k * x[3] * (1.0 / mu(x[0]) + 1.0 / mu(x[1])) * (-x[2] / 2000.0).exp()).exp()
            }),
            None,
        )
    }

    fn band() -> BandLuts {
        band_with(0.05)
    }

    fn common() -> GippCommon {
        let d = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let app = Applicability::List {
            nick: "CONTINEN".into(),
            site_ids: vec![],
        };
        GippCommon::new("TEST", app, crate::ee::header::open_validity(d)).unwrap()
    }

    #[test]
    fn gipps_validate_and_read_back_with_the_path_recovered_from_tocr() {
        let set = LutSet {
            model: "CONTINEN".into(),
            ozone: 0.3,
            bands: vec![("B03".into(), band()), ("B12".into(), band())],
        };
        let dir = tempfile::tempdir().unwrap();
        let hdrs = set.write(&common(), dir.path()).unwrap();
        assert_eq!(hdrs.len(), 5);
        let (gast, icd): (Vec<_>, Vec<_>) = hdrs
            .iter()
            .partition(|h| h.file_name().unwrap().to_str().unwrap().contains("L2GAST"));
        let icd: Vec<&Path> = icd.iter().map(|p| p.as_path()).collect();
        crate::ee::schema::validate_all(&icd).unwrap();
        crate::ee::schema::validate_all(&[gast[0].as_path()]).unwrap();
        // the schema check can fail: a wrong ozone unit
        let text = std::fs::read_to_string(gast[0]).unwrap();
        let wrong = dir.path().join("wrong.HDR");
        std::fs::write(&wrong, text.replace("unit=\"cm.atm\"", "unit=\"DU\"")).unwrap();
        assert!(crate::ee::schema::validate_all(&[wrong.as_path()]).is_err());
        std::fs::remove_file(&wrong).unwrap();
        let back = LutSet::read(dir.path(), "CONTINEN").unwrap();
        assert_eq!(back.ozone, 0.3);
        assert_eq!(back.bands.len(), 2);
        let (orig, read) = (&set.bands[1].1, &back.bands[1].1);
        assert_eq!(orig.gast, read.gast);
        assert_eq!(orig.dirt, read.dirt);
        assert_eq!(orig.albd, read.albd);
        let worst = orig
            .path
            .data
            .iter()
            .zip(&read.path.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 2e-6, "path recovered from L2TOCR off by {worst}");
    }

    /// `band()` with a phase function peaked at backscattering (Θ from `first` to 180°).
    fn band_with_phase(first: f64) -> BandLuts {
        let b = band();
        let theta: Vec<f64> = (first as usize..=180).map(|t| t as f64).collect();
        let phase = grid(LutKind::Phas.axes(), &[theta], |x| {
            0.2 + 0.3 * (-((180.0 - x[0]) / 5.0).powi(2)).exp()
        });
        BandLuts::new(b.path, b.dirt, b.dift, b.albd, b.gast, Some(phase))
    }

    #[test]
    fn the_single_scattering_split_is_exact_at_the_nodes_and_round_trips() {
        let (plain, split) = (band(), band_with_phase(0.0));
        let at = |b: &BandLuts, sza: f64, vza: f64| {
            b.terms(&Conditions {
                sza,
                vza,
                raa: 0.0,
                aot: 0.5,
                wv: 1.0,
                alt: 1500.0,
            })
        };
        // at a node the two parts add up to the table
        let (p, s) = (at(&plain, 30.0, 20.0), at(&split, 30.0, 20.0));
        assert!((p.rho_path - s.rho_path).abs() < 1e-6, "{p:?} {s:?}");
        assert_eq!(p.rho_r, s.rho_r);
        // at the hot spot, between nodes, the peak the nodes miss is added
        let (p, s) = (at(&plain, 25.0, 25.0), at(&split, 25.0, 25.0));
        assert!(s.rho_path > p.rho_path + 0.004, "{p:?} {s:?}");
        assert!(s.clamped.is_empty());
        // written as L2PHAS, valid against VIP's schema, read back
        let set = LutSet {
            model: "CONTINEN".into(),
            ozone: 0.3,
            bands: vec![("B03".into(), split.clone())],
        };
        let dir = tempfile::tempdir().unwrap();
        let hdrs = set.write(&common(), dir.path()).unwrap();
        let phas = hdrs
            .iter()
            .find(|h| h.to_str().unwrap().contains("_GIP_L2PHAS_"))
            .unwrap();
        crate::ee::schema::validate_all(&[phas.as_path()]).unwrap();
        let back = LutSet::read(dir.path(), "CONTINEN").unwrap();
        let read = back.bands[0].1.single.as_ref().unwrap();
        assert_eq!(read.phase, split.single.as_ref().unwrap().phase);
        // a phase function that does not reach the geometry's widest angles is bad input
        let short = LutSet {
            bands: vec![("B03".into(), band_with_phase(100.0))],
            ..set
        };
        let dir = tempfile::tempdir().unwrap();
        short.write(&common(), dir.path()).unwrap();
        let e = LutSet::read(dir.path(), "CONTINEN")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("L2PHAS") && e.contains("Scattering_Angle_Indexes span 100-180"),
            "{e}"
        );
    }

    #[test]
    fn inversion_undoes_the_forward_model_and_clamps_are_reported() {
        let b = band();
        let c = Conditions {
            sza: 37.0,
            vza: 12.0,
            raa: 75.0,
            aot: 0.33,
            wv: 2.2,
            alt: 700.0,
        };
        let t = b.terms(&c);
        assert!(t.clamped.is_empty());
        assert!(t.tg < t.tg_path && t.tg_path < 1.0, "{t:?}");
        for rho in [0.0, 0.05, 0.3, 0.6] {
            assert!((t.surface(t.toa(rho)) - rho).abs() < 1e-12);
        }
        // closed form at a node: ρ_TOA(0) = tg_path·ρ_path
        let far = Conditions { aot: 1.4, ..c };
        assert_eq!(b.terms(&far).clamped, vec!["AOT_Indexes".to_string()]);
    }
}
