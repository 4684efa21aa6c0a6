//! Which aerosol model (LUT set) an L2 uses: the one asked for, the site's, or the one the
//! image's dark vegetation agrees with best.
//!
//! **The site's model** comes from the site's L2SITE GIPP (VIP's `Aerosol_Model` extension,
//! [`crate::ee::l2site`]), else from the L2COMM's `Constant_Model` (MAJA's one model for all
//! sites), else it is [`DEFAULT_MODEL`].
//!
//! **The automatic choice** (the L2SITE's `Automatic_Choice`, or `vip-maccs l2 --model auto`)
//! scores every LUT set of the GIPP folder on the scene's dark vegetation. Over dense canopies
//! the surface reflectances of the blue bands are near-fixed fractions of the red one
//! ([`Params::dark_vegetation`], [`Params::choice_relations`]); the aerosol models differ in how their path reflectance and
//! transmissions fall from the blue to the red (their Ångström exponent and absorption), so at
//! the best AOT of a window of cells the wrong model leaves the three blue relations
//! inconsistent with one another. Per window of (2·half window + 1)² cells holding dark
//! vegetation, each model's AOT is the least-squares fit of all the relations at once
//! ([`aot::minimum`]), and its score is the RMS residual over the windows. The lowest score
//! wins, unless the evidence is weak: fewer than [`MIN_WINDOWS`] windows, or a best model that
//! does not fit better than the site's consistently over the same windows (the paired t
//! statistic of their per-window squared residuals below [`T_MIN`]; [`Paired`]). Then the
//! site's model is kept. Comparing window by window removes what both models share (how far
//! each canopy strays from the relations), so a small but systematic difference counts and a
//! large one resting on a few windows does not.
//!
//! This evidence tells models apart by how their aerosols fall from the blue to the red
//! (particle size), not by their absorption: over dark canopies an absorbing model at a high
//! AOT and a less absorbing one at a lower AOT give the same path reflectance. **With the
//! site's context**, each model also inverts the composite (the same pixels on their last
//! clear date, [`Composite`]) at that date's own dark-vegetation AOT, and the surfaces it
//! finds on both dates are compared: the model whose two dates agree best overrules the dark
//! vegetation's choice when it agrees better over the same windows consistently (at least
//! [`MIN_WINDOWS`] of them, paired t at least [`T_MIN`]). A wrong model errs in proportion
//! to the AOT, so this sees absorption as soon as the two dates' aerosol loads differ; between
//! dates of the same load nothing shows and the dark vegetation decides.

use rayon::prelude::*;

use super::coarse::{CellGeometry, Coarse, NB};
use super::Params;
use crate::atmosphere::aot::{self, DarkVegetation, Residual};
use crate::atmosphere::field::Field;
use crate::atmosphere::luts::BandLuts;
use crate::atmosphere::surface::PixelTerms;
use crate::ee::GippCatalogue;
use crate::error::Result;

pub use crate::atmosphere::luts::DEFAULT_MODEL;
/// Fewest windows of dark vegetation for the automatic choice to overrule the site's model.
pub const MIN_WINDOWS: usize = 4;
/// The site's model is kept unless the best one fits better with at least this paired t
/// statistic over the windows (about a one-in-a-thousand chance for equal models).
pub const T_MIN: f64 = 3.0;

/// What `vip-maccs l2 --model` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// This model for every scene.
    Named(String),
    /// The automatic choice among the GIPP folder's models, falling back to the site's.
    Auto,
}

impl std::str::FromStr for Request {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Request::Auto),
            m if crate::ee::l2site::is_model_name(m) => Ok(Request::Named(m.to_string())),
            m => Err(format!(
                "'{m}' is neither 'auto' nor a LUT nick name (1 to 8 capitals or digits, e.g. CONTINEN)"
            )),
        }
    }
}

/// The site's aerosol model, whether the image may overrule it, and where that was read.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteModel {
    pub model: String,
    pub automatic: bool,
    /// The GIPP that said so, or `default`.
    pub source: String,
}

/// The site's model from the GIPPs of `catalogue` applicable to site `nick` at `when`:
/// the L2SITE's extension, else `constant_model` (the L2COMM's), else [`DEFAULT_MODEL`].
pub fn site_model(
    catalogue: &GippCatalogue,
    nick: &str,
    when: chrono::NaiveDateTime,
    constant_model: Option<(&str, &str)>,
) -> Result<SiteModel> {
    if catalogue
        .entries()
        .iter()
        .any(|e| e.file_type == "GIP_L2SITE")
    {
        let entry = catalogue.find("GIP_L2SITE", nick, when, None)?;
        if let Some(a) = crate::ee::l2site::read_l2site(&entry.path)?.aerosol {
            return Ok(SiteModel {
                model: a.model,
                automatic: a.automatic,
                source: entry.id.clone(),
            });
        }
    }
    Ok(match constant_model {
        Some((model, id)) => SiteModel {
            model: model.to_string(),
            automatic: false,
            source: id.to_string(),
        },
        None => SiteModel {
            model: DEFAULT_MODEL.to_string(),
            automatic: false,
            source: "default".to_string(),
        },
    })
}

/// One model's score on a scene.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub model: String,
    /// RMS residual of the dark-vegetation relations at each window's best AOT.
    pub rms: f64,
    /// Mean of those AOTs.
    pub aot: f64,
    /// Mean squared dark-vegetation residual in each window (NaN where the window could not
    /// be scored), for the paired comparison of two models.
    pub windows: Vec<f64>,
    /// Its two dates' surfaces, against the context's composite ([`Composite`]), where there
    /// is one.
    pub composite: Option<CompositeScore>,
}

/// How one model's surfaces of today and of the context's composite agree.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeScore {
    /// RMS difference between the two dates' surfaces over the windows compared.
    pub rms: f64,
    /// Mean AOT of the composite's dates with this model.
    pub aot: f64,
    /// Mean squared difference in each window (NaN where not compared).
    pub windows: Vec<f64>,
}

/// The model of one scene and how it was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub model: String,
    pub how: How,
    /// Every model's score, in the order of the GIPP folder (automatic choice only).
    pub scores: Vec<Score>,
    /// Windows of dark vegetation the scores rest on, and among them those compared with the
    /// context's composite.
    pub windows: usize,
    pub composite_windows: usize,
}

/// How the model of a scene was decided.
#[derive(Debug, Clone, PartialEq)]
pub enum How {
    /// `--model NAME`.
    Asked,
    /// The site's model, without automatic choice.
    Site(String),
    /// The automatic choice.
    Chosen,
    /// The automatic choice, against the site's model `site`: how much better it fits.
    Overruled { site: String, paired: Paired },
    /// The automatic choice fell back to the site's model: the reason.
    Kept(String),
    /// The context's composite overruled the dark vegetation's choice `over`: how much better
    /// this model's two dates agree.
    Composite { over: String, paired: Paired },
}

impl Choice {
    /// One sentence for the product header and the log.
    pub fn note(&self) -> String {
        let scores = || {
            self.scores
                .iter()
                .map(|s| {
                    let composite = s.composite.as_ref().map_or(String::new(), |c| {
                        format!(", composite {:.4} at AOT {:.2}", c.rms, c.aot)
                    });
                    format!("{} {:.4} at AOT {:.2}{composite}", s.model, s.rms, s.aot)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let evidence = match self.composite_windows {
            0 => format!("its dark-vegetation residuals over {} windows", self.windows),
            n if n < MIN_WINDOWS => format!(
                "its dark-vegetation residuals over {} windows (the context's composite over {n}, too few to overrule them)",
                self.windows
            ),
            n => format!(
                "its dark-vegetation residuals over {} windows (the context's composite over {n} singles out no other model)",
                self.windows
            ),
        };
        match &self.how {
            How::Asked => format!("aerosol model {}, asked for", self.model),
            How::Site(source) => format!("aerosol model {}, the site's ({source})", self.model),
            How::Chosen => format!(
                "aerosol model {}, chosen by {evidence} (RMS: {})",
                self.model,
                scores()
            ),
            How::Overruled { site, paired } => format!(
                "aerosol model {}, chosen by {evidence}, better than the site's {site} in {} of {} (paired t {:.1}) (RMS: {})",
                self.model,
                paired.wins,
                paired.n,
                paired.t,
                scores()
            ),
            How::Kept(why) => format!(
                "aerosol model {}, the site's: {why} (residual RMS over {} windows of dark vegetation{}: {})",
                self.model,
                self.windows,
                match self.composite_windows {
                    0 => String::new(),
                    n => format!(", {n} compared with the context's composite"),
                },
                match self.scores.is_empty() {
                    true => "none".to_string(),
                    false => scores(),
                }
            ),
            How::Composite { over, paired } => format!(
                "aerosol model {}, chosen by its surfaces of this date and of the context's composite over {} windows, which agree better than those of {over}, the choice without them, in {} of {} (paired t {:.1}) (RMS: {})",
                self.model,
                self.composite_windows,
                paired.wins,
                paired.n,
                paired.t,
                scores()
            ),
        }
    }

    /// The choice the context's composite makes instead, when it has enough windows
    /// ([`MIN_WINDOWS`]) and another model's two dates agree better than this one's
    /// consistently over them (paired t at least [`T_MIN`]); otherwise this choice.
    fn checked_against_composite(self) -> Choice {
        let rms = |s: &Score| s.composite.as_ref().map_or(f64::NAN, |c| c.rms);
        if self.composite_windows < MIN_WINDOWS {
            return self;
        }
        let Some(best) = self
            .scores
            .iter()
            .filter(|s| rms(s).is_finite())
            .min_by(|a, b| rms(a).total_cmp(&rms(b)))
        else {
            return self;
        };
        let now = self.scores.iter().find(|s| s.model == self.model);
        let (Some(b), Some(n)) = (&best.composite, now.and_then(|s| s.composite.as_ref())) else {
            return self;
        };
        let paired = Paired::of(&n.windows, &b.windows);
        if best.model == self.model || paired.t < T_MIN {
            return self;
        }
        Choice {
            model: best.model.clone(),
            how: How::Composite {
                over: self.model.clone(),
                paired,
            },
            ..self
        }
    }
}

/// The decision between the scores of the candidate models: the best on the dark
/// vegetation, unless it rests on fewer than [`MIN_WINDOWS`] windows or does not beat the
/// site's model significantly (the paired t statistic of their windows' squared residuals
/// below [`T_MIN`]); then the model whose surfaces of today and of the context's composite
/// agree best, when it beats that choice significantly on them.
pub fn decide(site: &str, scores: Vec<Score>, windows: (usize, usize)) -> Choice {
    by_dark_vegetation(site, scores, windows).checked_against_composite()
}

fn by_dark_vegetation(
    site: &str,
    scores: Vec<Score>,
    (windows, composite_windows): (usize, usize),
) -> Choice {
    let keep = |why: String, scores: Vec<Score>| Choice {
        model: site.to_string(),
        how: How::Kept(why),
        scores,
        windows,
        composite_windows,
    };
    if windows < MIN_WINDOWS {
        return keep(
            format!("too few windows of dark vegetation ({windows}, {MIN_WINDOWS} needed)"),
            scores,
        );
    }
    let Some(best) = scores
        .iter()
        .filter(|s| s.rms.is_finite())
        .min_by(|a, b| a.rms.total_cmp(&b.rms))
    else {
        return keep("no model could be scored".into(), scores);
    };
    if best.model == site {
        return Choice {
            model: site.to_string(),
            how: How::Chosen,
            windows,
            composite_windows,
            scores,
        };
    }
    let best = best.clone();
    match scores.iter().find(|s| s.model == site) {
        Some(s) => {
            let p = Paired::of(&s.windows, &best.windows);
            match p.t >= T_MIN {
                true => Choice {
                    model: best.model.clone(),
                    how: How::Overruled {
                        site: site.to_string(),
                        paired: p,
                    },
                    windows,
                    composite_windows,
                    scores,
                },
                false => keep(
                    format!(
                        "{} fits better in {} of {} windows, not significantly (paired t {:.1}, {T_MIN} needed)",
                        best.model, p.wins, p.n, p.t
                    ),
                    scores,
                ),
            }
        }
        None => Choice {
            model: best.model.clone(),
            how: How::Chosen,
            windows,
            composite_windows,
            scores,
        },
    }
}

/// The paired comparison of two models' squared residuals over the windows both scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// Windows where the second model fits better, out of `n`.
    pub wins: usize,
    pub n: usize,
    /// t statistic of the mean difference (first − second): large when the second fits
    /// better consistently.
    pub t: f64,
}

impl Paired {
    /// Of the per-window squared residuals `a` and `b` (NaN where a window was not scored).
    pub fn of(a: &[f64], b: &[f64]) -> Paired {
        let d: Vec<f64> = a
            .iter()
            .zip(b)
            .map(|(x, y)| x - y)
            .filter(|d| d.is_finite())
            .collect();
        let n = d.len();
        let wins = d.iter().filter(|&&d| d > 0.0).count();
        if n < 2 {
            return Paired { wins, n, t: 0.0 };
        }
        let mean = d.iter().sum::<f64>() / n as f64;
        let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let t = match var > 0.0 {
            true => mean / (var / n as f64).sqrt(),
            false if mean > 0.0 => f64::INFINITY,
            false => 0.0,
        };
        Paired { wins, n, t }
    }
}

/// What one coarse cell accumulates for the comparison with the context's composite: its
/// pixels clear today (no cloud, shadow, snow nor water) that the composite remembers in
/// every band, the sums of their TOA reflectance today and of their composite RCR, and the
/// same sums over those of them that are dark vegetation today.
///
/// **Why the composite tells absorbing aerosols apart.** Over dark vegetation, an absorbing
/// model at a high AOT and a less absorbing one at a lower AOT give the same path
/// reflectance; only their transmissions differ (15–25 % for urban against continental
/// aerosols at AOT 0.35), and only brighter surfaces show it. The composite holds the same
/// pixels on their last clear date, a surface that changes slowly (MAJA's multi-temporal
/// assumption). Its RCR is the TOA reflectance inverted at zero aerosol, which no model
/// changes, so it is taken back to the top of the atmosphere and each model inverts both
/// dates alike: its AOT from the same dark pixels on each date, then the surface of the
/// window's compared pixels. The right model finds the same surface on both dates; a wrong
/// one errs in proportion to each date's AOT, so its two surfaces differ as much as the two
/// dates' aerosol loads do (nothing shows between two dates of the same AOT).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Composite {
    pub n: f64,
    pub toa: [f64; NB],
    pub rcr: [f64; NB],
    pub n_dark: f64,
    pub dark_toa: [f64; NB],
    pub dark_rcr: [f64; NB],
}

impl Composite {
    /// Adds a pixel seen today as `toa` and in the composite as `rcr`, `dark` when it is dark
    /// vegetation today.
    pub fn add(&mut self, toa: &[f64; NB], rcr: &[f64; NB], dark: bool) {
        self.n += 1.0;
        add(&mut self.toa, toa);
        add(&mut self.rcr, rcr);
        if dark {
            self.n_dark += 1.0;
            add(&mut self.dark_toa, toa);
            add(&mut self.dark_rcr, rcr);
        }
    }

    /// Adds the sums of `o` (in a fixed order, so results do not depend on threads).
    pub fn merge(&mut self, o: &Composite) {
        self.n += o.n;
        self.n_dark += o.n_dark;
        add(&mut self.toa, &o.toa);
        add(&mut self.rcr, &o.rcr);
        add(&mut self.dark_toa, &o.dark_toa);
        add(&mut self.dark_rcr, &o.dark_rcr);
    }

    /// The means of the sums.
    fn mean(&self) -> Composite {
        Composite {
            n: self.n,
            toa: self.toa.map(|v| v / self.n),
            rcr: self.rcr.map(|v| v / self.n),
            n_dark: self.n_dark,
            dark_toa: self.dark_toa.map(|v| v / self.n_dark),
            dark_rcr: self.dark_rcr.map(|v| v / self.n_dark),
        }
    }
}

fn add(sum: &mut [f64; NB], v: &[f64; NB]) {
    for (s, v) in sum.iter_mut().zip(v) {
        *s += v;
    }
}

/// The dark vegetation of one window of coarse cells.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    /// Dark-vegetation pixels and their mean TOA reflectance per band.
    pub n_dark: f64,
    pub dark: [f64; NB],
    /// Mean TOA reflectance of every pixel of the window (the dark pixels' environment).
    pub env: [f64; NB],
    /// The window's pixels compared with the context's composite, their means (`None`: fewer
    /// than `min_pixels` of them dark vegetation, or no context).
    pub composite: Option<Composite>,
    pub geometry: CellGeometry,
    pub alt: f64,
    pub wv: f64,
}

/// The windows of `c` (blocks of (2·half window + 1)² cells, as the AOT estimation uses)
/// with at least `min_dark_cells` cells of `min_pixels` dark-vegetation pixels; `composite`
/// holds each cell's [`Composite`] sums (empty without a context).
pub(crate) fn windows(c: &Coarse, wv: &Field, composite: &[Composite]) -> Vec<Window> {
    let p = c.params;
    let (g, fine) = (c.grid, c.fine);
    let side = 2 * p.aot_half_window + 1;
    let (wr, wc) = (g.rows.div_ceil(side), g.cols.div_ceil(side));
    let mut env = vec![([0.0; NB], 0.0); wr * wc];
    for (k, s) in c.env_sums.iter().enumerate() {
        let at = |i: usize, n: usize| ((fine.centre(i) / g.f as f64) as usize).min(n - 1) / side;
        let w = at(k / fine.cols, g.rows) * wc + at(k % fine.cols, g.cols);
        for (a, v) in env[w].0.iter_mut().zip(&s.toa) {
            *a += v;
        }
        env[w].1 += s.n;
    }
    let mut out = vec![];
    for (wi, (env_sum, env_n)) in env.iter().enumerate() {
        let (r0, c0) = ((wi / wc) * side, (wi % wc) * side);
        let mut n_dark = 0.0;
        let mut dark = [0.0; NB];
        let mut seen = Composite::default();
        let (mut alt, mut n, mut cells, mut wv_sum) = (0.0, 0.0, 0, 0.0);
        for r in r0..(r0 + side).min(g.rows) {
            for col in c0..(c0 + side).min(g.cols) {
                let s = &c.cells[r * g.cols + col];
                if let Some(k) = composite.get(r * g.cols + col) {
                    seen.merge(k);
                }
                alt += s.alt;
                n += s.n;
                if s.n_dark >= p.min_pixels && s.n_valid >= p.min_pixels {
                    cells += 1;
                    n_dark += s.n_dark;
                    wv_sum += s.n_dark * wv.data[r * g.cols + col];
                    for (a, v) in dark.iter_mut().zip(&s.dark) {
                        *a += v;
                    }
                }
            }
        }
        if cells < p.min_dark_cells || *env_n < 1.0 {
            continue;
        }
        let centre = (r0 + side / 2).min(g.rows - 1) * g.cols + (c0 + side / 2).min(g.cols - 1);
        out.push(Window {
            n_dark,
            dark: dark.map(|v| v / n_dark),
            env: env_sum.map(|v| v / env_n),
            composite: (seen.n_dark >= p.min_pixels).then(|| seen.mean()),
            geometry: c.geometry[centre],
            alt: alt / n,
            wv: wv_sum / n_dark,
        });
    }
    out
}

/// The score of the LUT set `luts` (per band) on `windows`: per window, the residuals of
/// `relations` (band, relation to the red band `red`) of the surface reflectances inverted
/// at each AOT of `nodes` (corrected for adjacency with the window's mean), minimised over
/// the AOT; the RMS over windows and relations, weighted by dark pixels. Where a window has
/// a [`Composite`], both dates' surfaces of its compared pixels, each at that date's AOT
/// (the composite's RCR taken back to TOA with the Rayleigh-only terms of water vapour
/// `wv_rcr`, as it was made), are compared in every band but `skip` (the water-vapour band,
/// whose gas correction no model changes).
pub(crate) fn score(
    model: &str,
    luts: &[&BandLuts],
    windows: &[Window],
    (relations, red): (&[(usize, DarkVegetation)], usize),
    (skip, wv_rcr): (usize, f64),
    nodes: &[f64],
) -> Score {
    struct Scored {
        cost: f64,
        weight: f64,
        aot: f64,
        /// Mean squared difference between the dates' surfaces, and the composite's AOT.
        composite: Option<(f64, f64)>,
    }
    let per_window: Vec<Option<Scored>> = windows
        .par_iter()
        .map(|w| {
            let at: Vec<_> = (0..NB).map(|b| w.geometry.at(b, luts[b])).collect();
            let terms = |b: usize, a: f64, wv: f64| PixelTerms::from(&at[b].terms(w.alt, a, wv));
            let invert = |b: usize, a: f64, toa: f64, env: f64| {
                let t = terms(b, a, w.wv);
                t.surface(toa, t.uniform(env))
            };
            // the AOT whose surfaces best follow the relations, and its cost
            let fit = |n: f64, dark: &[f64; NB], env: &[f64; NB]| {
                let surface = |b: usize| -> Vec<f64> {
                    nodes
                        .iter()
                        .map(|&a| invert(b, a, dark[b], env[b]))
                        .collect()
                };
                let r = surface(red);
                let eqs: Vec<Residual> = relations
                    .iter()
                    .map(|(b, rel)| rel.residual(n, &surface(*b), &r))
                    .collect();
                aot::minimum(nodes, &eqs)
            };
            let (a, cost) = fit(w.n_dark, &w.dark, &w.env)?;
            let composite = w.composite.and_then(|k| {
                let then: [f64; NB] = std::array::from_fn(|b| terms(b, 0.0, wv_rcr).toa(k.rcr[b]));
                let dark_then: [f64; NB] =
                    std::array::from_fn(|b| terms(b, 0.0, wv_rcr).toa(k.dark_rcr[b]));
                let (now_aot, _) = fit(k.n_dark, &k.dark_toa, &k.toa)?;
                let (then_aot, _) = fit(k.n_dark, &dark_then, &then)?;
                let bands = (0..NB).filter(|&b| b != skip);
                let d2: f64 = bands
                    .clone()
                    .map(|b| {
                        let surface = |a: f64, toa: f64| terms(b, a, w.wv).uniform(toa);
                        (surface(now_aot, k.toa[b]) - surface(then_aot, then[b])).powi(2)
                    })
                    .sum();
                Some((d2 / bands.count() as f64, then_aot))
            });
            Some(Scored {
                cost,
                weight: w.n_dark * relations.len() as f64,
                aot: a,
                composite,
            })
        })
        .collect();
    let scored = || per_window.iter().flatten();
    let weight: f64 = scored().map(|s| s.weight).sum();
    let composite: Vec<(f64, f64)> = scored().filter_map(|s| s.composite).collect();
    let n_composite = composite.len() as f64;
    Score {
        model: model.to_string(),
        rms: (scored().map(|s| s.cost).sum::<f64>() / weight).sqrt(),
        aot: scored().map(|s| s.aot * s.weight).sum::<f64>() / weight,
        windows: per_window
            .iter()
            .map(|v| v.as_ref().map_or(f64::NAN, |s| s.cost / s.weight))
            .collect(),
        composite: (!composite.is_empty()).then(|| CompositeScore {
            rms: (composite.iter().map(|c| c.0).sum::<f64>() / n_composite).sqrt(),
            aot: composite.iter().map(|c| c.1).sum::<f64>() / n_composite,
            windows: per_window
                .iter()
                .map(|v| {
                    v.as_ref()
                        .and_then(|s| s.composite)
                        .map_or(f64::NAN, |c| c.0)
                })
                .collect(),
        }),
    }
}

/// The dark-vegetation relations the models are scored on: the AOT method's (blue) and the
/// other blue bands' ([`Params::choice_relations`]), as (band, relation to the red band).
pub fn relations(p: &Params) -> Vec<(usize, DarkVegetation)> {
    std::iter::once((p.blue, p.dark_vegetation))
        .chain(p.choice_relations.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A score from its windows' mean squared residuals.
    fn score(model: &str, windows: &[f64]) -> Score {
        let n = windows.iter().filter(|w| w.is_finite()).count() as f64;
        Score {
            model: model.into(),
            rms: (windows.iter().filter(|w| w.is_finite()).sum::<f64>() / n).sqrt(),
            aot: 0.2,
            windows: windows.to_vec(),
            composite: None,
        }
    }

    /// `s` with the composite's per-window squared differences `windows`.
    fn with_composite(mut s: Score, windows: &[f64]) -> Score {
        let n = windows.len() as f64;
        s.composite = Some(CompositeScore {
            rms: (windows.iter().sum::<f64>() / n).sqrt(),
            aot: 0.08,
            windows: windows.to_vec(),
        });
        s
    }

    /// `n` windows around `ms` (± 20 % alternately).
    fn around(ms: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ms * if i % 2 == 0 { 0.8 } else { 1.2 })
            .collect()
    }

    #[test]
    fn the_best_score_wins_unless_the_evidence_is_weak() {
        let s = || {
            vec![
                score("CONTINEN", &around(16e-6, 10)),
                score("URBAN", &around(1e-6, 10)),
                score("DESERT", &around(9e-6, 10)),
            ]
        };
        let c = decide("CONTINEN", s(), (10, 0));
        assert_eq!(c.model, "URBAN");
        assert!(
            c.note().contains("URBAN 0.0010")
                && c.note()
                    .contains("better than the site's CONTINEN in 10 of 10"),
            "{}",
            c.note()
        );
        // with the context's composite agreeing: the note says so and gives each model's figures
        let with = |urban: f64| {
            s().into_iter()
                .map(|x| {
                    let d = if x.model == "URBAN" { urban } else { 4e-6 };
                    with_composite(x, &around(d, 9))
                })
                .collect::<Vec<_>>()
        };
        let c = decide("CONTINEN", with(1e-6), (10, 9));
        assert_eq!(c.model, "URBAN");
        assert!(
            c.note()
                .contains("the context's composite over 9 singles out no other model")
                && c.note()
                    .contains("URBAN 0.0010 at AOT 0.20, composite 0.0010 at AOT 0.08"),
            "{}",
            c.note()
        );
        // the composite overrules the dark vegetation when another model's dates agree better
        // consistently, and not on too few windows
        let mut s2 = with(9e-6);
        s2[2] = with_composite(s2[2].clone(), &around(1e-6, 9));
        let c = decide("CONTINEN", s2.clone(), (10, 9));
        assert_eq!(c.model, "DESERT");
        assert!(
            matches!(c.how, How::Composite { ref over, paired } if over == "URBAN" && paired.wins == 9),
            "{:?}",
            c.how
        );
        assert!(
            c.note().contains("over 9 windows, which agree better than those of URBAN, the choice without them, in 9 of 9"),
            "{}",
            c.note()
        );
        assert_eq!(decide("CONTINEN", s2, (10, 3)).model, "URBAN");
        // a composite difference that is not consistent over its windows does not overrule
        let mut s3 = with(1e-6);
        let uneven: Vec<f64> = (0..9)
            .map(|i| if i % 2 == 0 { 0.1e-6 } else { 1.3e-6 })
            .collect();
        s3[2] = with_composite(s3[2].clone(), &uneven);
        let c = decide("CONTINEN", s3, (10, 9));
        assert_eq!(c.model, "URBAN", "{:?}", c.how);
        // too few windows: the site's model
        let c = decide("CONTINEN", s(), (3, 0));
        assert_eq!(c.model, "CONTINEN");
        assert!(
            matches!(c.how, How::Kept(ref w) if w.contains("too few")),
            "{:?}",
            c.how
        );
        // a better mean that is not consistent over the windows: the site's model is kept
        let mut desert = around(1e-6, 10);
        desert[0] = 4e-6;
        let urban: Vec<f64> = (0..10)
            .map(|i| if i % 2 == 0 { 0.5e-6 } else { 1.4e-6 })
            .collect();
        let c = decide(
            "DESERT",
            vec![score("DESERT", &desert), score("URBAN", &urban)],
            (10, 0),
        );
        assert_eq!(c.model, "DESERT");
        assert!(
            matches!(c.how, How::Kept(ref w) if w.contains("URBAN fits better in 5 of 10 windows, not significantly")),
            "{:?}",
            c.how
        );
        // a small but consistent advantage is chosen
        let c = decide(
            "DESERT",
            vec![
                score("DESERT", &around(1.1e-6, 10)),
                score("URBAN", &around(1e-6, 10)),
            ],
            (10, 0),
        );
        assert_eq!(c.model, "URBAN");
        assert!(matches!(c.how, How::Overruled { ref site, .. } if site == "DESERT"));
        // the site's model is the best
        let c = decide("URBAN", s(), (10, 0));
        assert_eq!((c.model.as_str(), &c.how), ("URBAN", &How::Chosen));
        // no score at all
        let c = decide("URBAN", vec![score("URBAN", &[f64::NAN])], (10, 0));
        assert_eq!(c.model, "URBAN");
        assert!(matches!(c.how, How::Kept(_)));
    }

    #[test]
    fn model_requests_parse() {
        assert_eq!("auto".parse::<Request>(), Ok(Request::Auto));
        assert_eq!(
            "URBAN".parse::<Request>(),
            Ok(Request::Named("URBAN".into()))
        );
        assert!("urban".parse::<Request>().unwrap_err().contains("'urban'"));
    }
}
