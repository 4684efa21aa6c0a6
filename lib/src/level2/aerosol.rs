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
    /// Mean squared residual in each window (NaN where the window could not be scored), for
    /// the paired comparison of two models.
    pub windows: Vec<f64>,
}

/// The model of one scene and how it was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub model: String,
    pub how: How,
    /// Every model's score, in the order of the GIPP folder (automatic choice only).
    pub scores: Vec<Score>,
    /// Windows of dark vegetation the scores rest on.
    pub windows: usize,
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
}

impl Choice {
    /// One sentence for the product header and the log.
    pub fn note(&self) -> String {
        let scores = || {
            self.scores
                .iter()
                .map(|s| format!("{} {:.4} at AOT {:.2}", s.model, s.rms, s.aot))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.how {
            How::Asked => format!("aerosol model {}, asked for", self.model),
            How::Site(source) => format!("aerosol model {}, the site's ({source})", self.model),
            How::Chosen => format!(
                "aerosol model {}, chosen by its dark-vegetation residuals over {} windows (RMS: {})",
                self.model,
                self.windows,
                scores()
            ),
            How::Overruled { site, paired } => format!(
                "aerosol model {}, chosen by its dark-vegetation residuals over {} windows, better than the site's {site} in {} of {} (paired t {:.1}) (RMS: {})",
                self.model,
                self.windows,
                paired.wins,
                paired.n,
                paired.t,
                scores()
            ),
            How::Kept(why) => format!(
                "aerosol model {}, the site's: {why} (dark-vegetation residual RMS over {} windows: {})",
                self.model,
                self.windows,
                match self.scores.is_empty() {
                    true => "none".to_string(),
                    false => scores(),
                }
            ),
        }
    }
}

/// The decision between the scores of the candidate models: the best, unless it rests on
/// fewer than [`MIN_WINDOWS`] windows or does not beat the site's model significantly (the
/// paired t statistic of their windows' squared residuals below [`T_MIN`]).
pub fn decide(site: &str, scores: Vec<Score>, windows: usize) -> Choice {
    let keep = |why: String, scores: Vec<Score>| Choice {
        model: site.to_string(),
        how: How::Kept(why),
        scores,
        windows,
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
            scores,
        };
    }
    let best = best.clone();
    match scores.iter().find(|s| s.model == site) {
        Some(s) => {
            let p = Paired::of(s, &best);
            match p.t >= T_MIN {
                true => Choice {
                    model: best.model.clone(),
                    how: How::Overruled {
                        site: site.to_string(),
                        paired: p,
                    },
                    windows,
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
    pub fn of(a: &Score, b: &Score) -> Paired {
        let d: Vec<f64> = a
            .windows
            .iter()
            .zip(&b.windows)
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

/// The dark vegetation of one window of coarse cells.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    /// Dark-vegetation pixels and their mean TOA reflectance per band.
    pub n_dark: f64,
    pub dark: [f64; NB],
    /// Mean TOA reflectance of every pixel of the window (the dark pixels' environment).
    pub env: [f64; NB],
    pub geometry: CellGeometry,
    pub alt: f64,
    pub wv: f64,
}

/// The windows of `c` (blocks of (2·half window + 1)² cells, as the AOT estimation uses)
/// with at least `min_dark_cells` cells of `min_pixels` dark-vegetation pixels.
pub(crate) fn windows(c: &Coarse, wv: &Field) -> Vec<Window> {
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
        let (mut alt, mut n, mut cells, mut wv_sum) = (0.0, 0.0, 0, 0.0);
        for r in r0..(r0 + side).min(g.rows) {
            for col in c0..(c0 + side).min(g.cols) {
                let s = &c.cells[r * g.cols + col];
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
/// the AOT; the RMS over windows and relations, weighted by dark pixels.
pub(crate) fn score(
    model: &str,
    luts: &[&BandLuts],
    windows: &[Window],
    relations: &[(usize, DarkVegetation)],
    red: usize,
    nodes: &[f64],
) -> Score {
    let per_window: Vec<Option<(f64, f64, f64)>> = windows
        .par_iter()
        .map(|w| {
            let surface = |b: usize| -> Vec<f64> {
                nodes
                    .iter()
                    .map(|&a| {
                        let k = w.geometry.conditions(b, a, w.wv, w.alt);
                        let t = PixelTerms::from(&luts[b].terms(&k));
                        t.adjacency(t.uniform(w.dark[b]), t.uniform(w.env[b]))
                    })
                    .collect()
            };
            let r = surface(red);
            let eqs: Vec<Residual> = relations
                .iter()
                .map(|(b, rel)| rel.residual(w.n_dark, &surface(*b), &r))
                .collect();
            let (a, cost) = aot::minimum(nodes, &eqs)?;
            Some((cost, w.n_dark * relations.len() as f64, a * w.n_dark))
        })
        .collect();
    let (cost, weight, aot) = per_window
        .iter()
        .flatten()
        .fold((0.0, 0.0, 0.0), |s, v| (s.0 + v.0, s.1 + v.1, s.2 + v.2));
    Score {
        model: model.to_string(),
        rms: (cost / weight).sqrt(),
        aot: aot * relations.len() as f64 / weight,
        windows: per_window
            .iter()
            .map(|v| v.map_or(f64::NAN, |(c, w, _)| c / w))
            .collect(),
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
        }
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
        let c = decide("CONTINEN", s(), 10);
        assert_eq!(c.model, "URBAN");
        assert!(
            c.note().contains("URBAN 0.0010")
                && c.note()
                    .contains("better than the site's CONTINEN in 10 of 10"),
            "{}",
            c.note()
        );
        // too few windows: the site's model
        let c = decide("CONTINEN", s(), 3);
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
            10,
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
            10,
        );
        assert_eq!(c.model, "URBAN");
        assert!(matches!(c.how, How::Overruled { ref site, .. } if site == "DESERT"));
        // the site's model is the best
        let c = decide("URBAN", s(), 10);
        assert_eq!((c.model.as_str(), &c.how), ("URBAN", &How::Chosen));
        // no score at all
        let c = decide("URBAN", vec![score("URBAN", &[f64::NAN])], 10);
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
