//! `vip-qc check`: a product's internal consistency and thresholds from a rules file.
//!
//! Checks, each reported with the rule, what it is about, its status and the values. A status
//! is `pass`, `fail` or `not_measured`: a rule whose quantity the product does not carry is
//! never a silent pass; it is listed as not measured (and does not fail the product).
//! - `schema`: every EE header of the product validates against the VENµS XSDs (compiled into
//!   the library);
//! - `size`: every raster has the size its header announces;
//! - `reflectance`: valid reflectances of each band lie in `[reflectance_min, reflectance_max]`;
//! - `nodata`: the nodata fraction of each band is at most `max_nodata_fraction`;
//! - `mask-bits`: SAT/PIX masks use only the bits of the 12 bands, an L1C's CLD only 0 and 1,
//!   an L2A's CLD 8 bits, MSK 6 (SNW is bit 6), OTH 4;
//! - `angles`: sun zenith below `sun_zenith_max`, view zenith below `view_zenith_max`;
//! - `cloud`: the declared cloud percentage agrees with the CLD mask within
//!   `cloud_percentage_tolerance` (1 % by default; the header's value is rounded to 0.1 %), the
//!   mask's percentage computed as the processor computes it ([`super::masks`]: for an L2A the
//!   cloud tests' bits REFL, REFL_VAR and ALT, not the extension or shadows, over the mask cells
//!   every band sees), and is at most `max_cloud_percentage`. A header that declares
//!   none (`NIL=N/A`: no cloud detection ran) makes both not measured: the CLD mask of such a
//!   product is a placeholder (vip-l1 detects no cloud, the L2A copies the L1C's), so the
//!   percentage is not computed from it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::input::{Input, Kind, Role};
use super::masks::MaskSummary;
use super::stats::{self, StatsOptions};
use crate::error::{Result, VipError};

/// Thresholds of the checks. The shipped default is [`DEFAULT_RULES`]; a rules file (JSON)
/// may give any subset of the fields.
///
/// The no-data and cloud limits are those of the VENµS ground segment's L2COMM GIPP
/// (`Max_No_Data_Percentage` 80, `Max_Cloud_Percentage` 90, in
/// `testdata/venus/examples/VE_TEST_GIP_L2COMM_*.EEF`): beyond them the chain issues no L2A, so
/// a product that far out of its site or under cloud is not nominal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    pub reflectance_min: f64,
    pub reflectance_max: f64,
    pub max_nodata_fraction: f64,
    pub sun_zenith_max: f64,
    pub view_zenith_max: f64,
    pub cloud_percentage_tolerance: f64,
    pub max_cloud_percentage: f64,
}

/// Largest rules file read (the shipped one is a few hundred bytes).
pub const MAX_RULES_BYTES: u64 = 1 << 20;

/// The shipped rules, as a rules file.
pub const DEFAULT_RULES: &str = r#"{
  "reflectance_min": -0.2,
  "reflectance_max": 1.5,
  "max_nodata_fraction": 0.8,
  "sun_zenith_max": 89.0,
  "view_zenith_max": 30.0,
  "cloud_percentage_tolerance": 1.0,
  "max_cloud_percentage": 90.0
}"#;

impl Default for Rules {
    fn default() -> Self {
        Rules {
            reflectance_min: -0.2,
            reflectance_max: 1.5,
            max_nodata_fraction: 0.8,
            sun_zenith_max: 89.0,
            view_zenith_max: 30.0,
            cloud_percentage_tolerance: 1.0,
            max_cloud_percentage: 90.0,
        }
    }
}

impl Rules {
    /// Reads a rules file; fields it does not give keep their default.
    pub fn read(path: &Path) -> Result<Rules> {
        let text = crate::input::read_text(path, MAX_RULES_BYTES, "a rules file")?;
        serde_json::from_str(&text)
            .map_err(|e| VipError::bad_input(path, format!("not a rules file: {e}")))
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// The product does not carry the quantity the rule is about: neither pass nor fail.
    NotMeasured,
}

impl Status {
    fn of(pass: bool) -> Status {
        if pass {
            Status::Pass
        } else {
            Status::Fail
        }
    }

    /// The status in the text table.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "ok",
            Status::Fail => "FAIL",
            Status::NotMeasured => "not measured",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub subject: String,
    pub status: Status,
    pub detail: String,
}

/// All the findings on one product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub product: String,
    pub findings: Vec<Finding>,
    /// Cloud, shadow, snow and water percentages of an L2A or L1C.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masks: Option<MaskSummary>,
}

impl Report {
    /// The findings of status `status`.
    pub fn with(&self, status: Status) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.status == status)
    }

    /// The failed findings.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.with(Status::Fail)
    }

    fn add(&mut self, rule: &str, subject: &str, pass: bool, detail: String) {
        self.add_status(rule, subject, Status::of(pass), detail);
    }

    fn add_status(&mut self, rule: &str, subject: &str, status: Status, detail: String) {
        self.findings.push(Finding {
            rule: rule.into(),
            subject: subject.into(),
            status,
            detail,
        });
    }
}

/// Runs every check on `input`.
pub fn check(input: &Input, rules: &Rules, opts: &StatsOptions) -> Result<Report> {
    check_with_stats(input, rules, &stats::stats(input, opts)?)
}

/// Runs every check on `input`, whose statistics are `s`.
pub fn check_with_stats(input: &Input, rules: &Rules, s: &stats::ProductStats) -> Result<Report> {
    let mut report = Report {
        product: input.id.clone(),
        findings: Vec::new(),
        masks: s.masks.clone(),
    };
    schemas(input, &mut report);
    sizes(input, &mut report)?;
    for b in &s.bands {
        match b.role {
            Role::Reflectance => {
                // Summaries are in the stored unit: scale them to reflectance.
                let phys = |v: f64| v * b.scale.unwrap_or(1.0) + b.offset.unwrap_or(0.0);
                let (lo, hi) = (b.summary.min.map(phys), b.summary.max.map(phys));
                let pass = lo.is_none_or(|v| v >= rules.reflectance_min)
                    && hi.is_none_or(|v| v <= rules.reflectance_max);
                report.add(
                    "reflectance",
                    &b.name,
                    pass,
                    format!(
                        "valid range {}..{} (allowed {}..{})",
                        fmt(lo),
                        fmt(hi),
                        rules.reflectance_min,
                        rules.reflectance_max
                    ),
                );
                report.add(
                    "nodata",
                    &b.name,
                    b.nodata_fraction <= rules.max_nodata_fraction,
                    format!(
                        "nodata fraction {:.4} (allowed {})",
                        b.nodata_fraction, rules.max_nodata_fraction
                    ),
                );
            }
            Role::Mask => {
                let allowed = mask_bits(input.kind, &b.name);
                let extra: Vec<u32> = b
                    .bits
                    .iter()
                    .filter(|(&bit, &n)| n > 0 && bit >= allowed)
                    .map(|(&bit, _)| bit)
                    .collect();
                report.add(
                    "mask-bits",
                    &b.name,
                    extra.is_empty(),
                    if extra.is_empty() {
                        format!("only bits below {allowed} used")
                    } else {
                        format!("bits {extra:?} used, only bits below {allowed} mean something")
                    },
                );
                if let (true, Some(m)) = (b.name.contains("CLD"), &s.masks) {
                    let mask = m.cloud_percentage;
                    cloud(
                        input.declared_cloud_percentage(),
                        mask,
                        &b.name,
                        rules,
                        &mut report,
                    );
                }
            }
            _ => {}
        }
    }
    if let Some(h) = &input.l1c {
        let sun_max = h.site.sun.zenith.iter().copied().fold(f64::MIN, f64::max);
        report.add(
            "angles",
            "sun",
            sun_max < rules.sun_zenith_max,
            format!(
                "largest sun zenith {sun_max:.3}° (allowed below {})",
                rules.sun_zenith_max
            ),
        );
        let view_max = h
            .site
            .view
            .iter()
            .flat_map(|v| v.zenith)
            .fold(f64::MIN, f64::max);
        report.add(
            "angles",
            "view",
            view_max < rules.view_zenith_max,
            format!(
                "largest view zenith {view_max:.3}° (allowed below {})",
                rules.view_zenith_max
            ),
        );
    }
    Ok(report)
}

/// Number of meaningful bits of mask layer `name` of a product of `kind` (see
/// `docs/formats.md`): the L1C cloud mask has 2 (cloud, bright ground measured by the
/// stereo), the L2A's CLD 8, MSK 6, QLT OTH 4; SAT and PIX one per band.
fn mask_bits(kind: Kind, name: &str) -> u32 {
    match (kind, name) {
        (Kind::L2a, "CLD") => 8,
        (Kind::L1c, "CLD") => 2,
        (Kind::L2a, "MSK") => 6,
        (Kind::L2a, "OTH") => 4,
        (_, n) if n.contains("CLD") => 1,
        _ => 12,
    }
}

/// The `cloud` findings on the mask `subject`, whose cloud tests cover `mask` % of the pixels
/// (the header's definition), of a product declaring `declared` %.
fn cloud(declared: Option<f64>, mask: f64, subject: &str, rules: &Rules, report: &mut Report) {
    let Some(declared) = declared else {
        let why = format!(
            "no cloud percentage declared (no cloud detection ran): the mask's {mask:.1} % is \
             a placeholder, not a measurement"
        );
        report.add_status("cloud", subject, Status::NotMeasured, why.clone());
        report.add_status("cloud", "cover", Status::NotMeasured, why);
        return;
    };
    report.add(
        "cloud",
        subject,
        (declared - mask).abs() <= rules.cloud_percentage_tolerance,
        format!(
            "declared {declared:.1} %, mask {mask:.1} % (allowed difference {})",
            rules.cloud_percentage_tolerance
        ),
    );
    report.add(
        "cloud",
        "cover",
        declared <= rules.max_cloud_percentage,
        format!(
            "declared {declared:.1} % (allowed {})",
            rules.max_cloud_percentage
        ),
    );
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.4}"))
}

/// Every `.HDR`/`.EEF` beside and inside the product, validated against its VENµS schema.
fn schemas(input: &Input, report: &mut Report) {
    if input.l1c.is_none() && input.l1a.is_none() && input.l2a.is_none() {
        return;
    }
    let mut headers = vec![input.path.clone()];
    headers.extend(
        files_in(&input.path.with_extension("DBL.DIR"))
            .into_iter()
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("HDR" | "EEF"))),
    );
    for h in headers {
        let subject = h
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match crate::ee::schema::validate(&h) {
            Ok(schema) => report.add(
                "schema",
                &subject,
                true,
                format!("validates against {schema}"),
            ),
            Err(e) => report.add("schema", &subject, false, e),
        }
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Rasters have the size their headers announce.
fn sizes(input: &Input, report: &mut Report) -> Result<()> {
    if let Some(h) = &input.l1c {
        let dir = input.path.parent().unwrap_or(Path::new("."));
        let ds = crate::raster::open(&h.image_path(dir))?;
        let (c, l) = ds.raster_size();
        report.add(
            "size",
            "image",
            (c, l) == (h.site.cols, h.site.lines) && ds.raster_count() == 15,
            format!(
                "{c} × {l} × {} bands (header: {} × {} × 15)",
                ds.raster_count(),
                h.site.cols,
                h.site.lines
            ),
        );
    }
    if let Some(p) = &input.l1a {
        let dir = input.path.parent().unwrap_or(Path::new("."));
        for b in &p.bands {
            let ds = crate::raster::open(&p.band_image_path(dir, &b.code))?;
            let (c, l) = ds.raster_size();
            report.add(
                "size",
                &b.code,
                (c, l) == (b.cols, b.lines),
                format!("{c} × {l} (header: {} × {})", b.cols, b.lines),
            );
        }
    }
    Ok(())
}

/// The report as a table.
pub fn text_table(r: &Report) -> String {
    let mut s = format!(
        "{}\n{:<12} {:<48} {:<12} detail\n",
        r.product, "rule", "subject", "status"
    );
    for f in &r.findings {
        s += &format!(
            "{:<12} {:<48} {:<12} {}\n",
            f.rule,
            f.subject,
            f.status.label(),
            f.detail
        );
    }
    if let Some(m) = &r.masks {
        s += &super::masks::text(m);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rules_text_is_the_default_and_partial_files_keep_defaults() {
        let parsed: Rules = serde_json::from_str(DEFAULT_RULES).unwrap();
        assert_eq!(parsed, Rules::default());
        let partial: Rules = serde_json::from_str(r#"{"reflectance_max": 0.5}"#).unwrap();
        assert_eq!(partial.reflectance_max, 0.5);
        assert_eq!(partial.sun_zenith_max, 89.0);
        assert!(serde_json::from_str::<Rules>(r#"{"reflectance_maxx": 0.5}"#).is_err());
    }
}
