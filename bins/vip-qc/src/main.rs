//! vip-qc: quality control of any VIP product.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vip::cli::{CommonArgs, OverwriteArg, Tool};

/// Check VENµS products and report; the exit status is the verdict (0 pass, 1 fail, 3 bad
/// input).
///
/// PRODUCT is an L2A, L1C or raw L1A global header (.HDR), a Theia/MUSCATE L1C or L2A (package
/// folder, zip or *_MTD_ALL.xml: read as the native product it packages), or any raster GDAL
/// reads (an L2A gives its SRE bands B01..B12, its FRE bands FRE_B01..FRE_B12, VAP, AOT and
/// its masks).
/// Reports go to stdout: a table, or JSON with --json (one object per product); --report also
/// writes an HTML report. vip-qc writes no product: it takes no -o or --co.
#[derive(Parser)]
#[command(
    name = "vip-qc",
    version,
    subcommand_required = true,
    arg_required_else_help = true,
    after_help = "EXAMPLES:\n  vip-qc stats OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR --json\n  vip-l1 - --gipp G --dem D -o OUT < l1a.txt | vip-qc stats -\n  vip-qc series OUT/VE_TEST_VSC_L1VALD_SIMULSIT_*.HDR --report series-report"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

/// How every subcommand reports.
#[derive(clap::Args)]
#[command(next_help_heading = "Report options")]
struct ReportArgs {
    /// Print the report as JSON on stdout
    #[arg(long)]
    json: bool,
    /// Also write an HTML report into DIR: index.html, PNG plots and the plots' data in
    /// report.json (DIR must not exist, unless --overwrite)
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    overwrite: OverwriteArg,
}

impl ReportArgs {
    /// The library's reporting settings; --overwrite without --report is a usage error.
    fn output(self) -> vip::Result<vip::qc::run::Output> {
        if self.overwrite.overwrite && self.report.is_none() {
            return Err(vip::VipError::Usage(
                "--overwrite replaces the --report folder, and no --report is given".into(),
            ));
        }
        Ok(vip::qc::run::Output {
            json: self.json,
            report: self.report,
            overwrite: self.overwrite.overwrite,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Per-band statistics: valid, nodata, saturated and cloudy fractions, min, max, mean,
    /// std, percentiles and histogram, per mask class; exact, streamed over strips
    ///
    /// Integer bands are exact (the histogram of every value); the histogram has GDAL's
    /// default 256 buckets, so the figures are those of `gdalinfo -stats -hist`. Percentile p
    /// is the smallest value with at least p % of the valid pixels at or below it.
    #[command(
        after_help = "EXAMPLES:\n  vip-qc stats OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR\n  vip-qc stats image.tif --json | jq '.bands[] | {name, mean, std}'\n  vip-l1 L1A.HDR --gipp G --dem D -o OUT | vip-qc stats - --json\n  vip-qc stats L1C.HDR --report stats-report   # index.html, PNG plots, report.json"
    )]
    Stats {
        /// Products (.HDR) or rasters, or - to read one path per line from stdin
        #[arg(required = true, value_name = "PRODUCT")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Check a product's consistency: headers against the VENµS schemas, raster sizes,
    /// reflectance ranges, nodata fractions, mask bits, angles, declared cloud cover; exit 1
    /// listing every failed check, and rules not measured reported as such
    #[command(
        after_help = "EXAMPLES:\n  vip-qc check OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR\n  vip-qc check L1C.HDR --rules strict.json --json\n  vip-qc check L1C.HDR --report check-report --overwrite\n\nRULES FILE (JSON, any subset; the defaults):\n  {\"reflectance_min\": -0.2, \"reflectance_max\": 1.5, \"max_nodata_fraction\": 0.8,\n   \"sun_zenith_max\": 89.0, \"view_zenith_max\": 30.0, \"cloud_percentage_tolerance\": 1.0,\n   \"max_cloud_percentage\": 90.0}\n(no-data and cloud limits: the L2COMM's Max_No_Data_Percentage and Max_Cloud_Percentage)\n\nSTATUS: each finding is ok, FAIL or not measured (\"status\": pass, fail, not_measured); a\nrule whose quantity the product does not carry (a cloud percentage declared NIL=N/A) is not\nmeasured: listed and warned about, it does not fail the check."
    )]
    Check {
        /// Products (their .HDR), or - to read one path per line from stdin
        #[arg(required = true, value_name = "PRODUCT")]
        inputs: Vec<PathBuf>,
        /// Thresholds (JSON rules file); the shipped defaults otherwise
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Compare B with the reference A band by band: max |diff|, bias, RMSE, fraction over the
    /// tolerance, and per mask bit the confusion matrix (precision, recall); exit 1 when a band
    /// is over the tolerance
    ///
    /// Bands are matched by name and compared in physical units (raw × scale + offset, i.e.
    /// reflectance for an L1C). Pixels valid in only one product count as over the tolerance;
    /// mask bands are compared exactly. With --band, B may be a single-band raster such as
    /// vip-sim's truth/TOA_Bnn.tif. Different grids are a bad input (exit 3).
    #[command(
        after_help = "EXAMPLES:\n  vip-qc compare GOLDEN/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR\n  vip-qc compare L1C.HDR S/truth/TOA_B04.tif --band B04 --tolerance 0.005 --max-fraction 0.01 --json\n  vip-qc compare a.tif b.tif --tolerance 1e-6\n  vip-qc compare GOLDEN.HDR OUT.HDR --tolerance 0.001 --report compare-report   # difference maps"
    )]
    Compare {
        /// Reference product (.HDR) or raster
        #[arg(value_name = "A")]
        a: PathBuf,
        /// Product or raster compared with A
        #[arg(value_name = "B")]
        b: PathBuf,
        /// Largest |B − A| accepted, in physical units (reflectance for an L1C)
        #[arg(long, value_name = "X", default_value_t = 0.0)]
        tolerance: f64,
        /// Fraction of a band's pixels allowed over the tolerance
        #[arg(long, value_name = "F", default_value_t = 0.0)]
        max_fraction: f64,
        /// Compare only this band of A (e.g. B04)
        #[arg(long, value_name = "BAND")]
        band: Option<String>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Geometric accuracy: sub-pixel shifts of a band against a reference image of the same
    /// grid, on a grid of windows, with outlier rejection: mean, RMS, max and the vector field
    ///
    /// Each window's shift is the peak of the normalised cross-correlation refined by
    /// Lucas–Kanade; windows with nodata, no contrast or a weak peak are skipped; outliers are
    /// farther than 3 robust sigmas from the median. dx, dy (pixels) is how far the product is
    /// displaced relative to the reference (columns, lines). Exit 1 when the RMS is over
    /// --max-rms; different grids are a bad input (exit 3).
    #[command(
        after_help = "EXAMPLES:\n  vip-qc geom OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR --reference REF/VE_TEST_VSC_L1VALD_SIMULSIT_20240110.HDR --band B07\n  vip-qc geom shifted.tif --reference L1C.HDR --band B04 --window 48 --json\n  vip-qc geom L1C.HDR --reference ortho_ref.tif --max-rms 0.3\n  vip-qc geom L1C.HDR --reference REF.HDR --report geom-report   # shift vector field"
    )]
    Geom {
        /// Product (.HDR) or raster to measure
        #[arg(value_name = "PRODUCT")]
        product: PathBuf,
        /// Reference product or raster on the same grid
        #[arg(long, value_name = "REF")]
        reference: PathBuf,
        /// Band measured (a single-band raster is used as it is) [default: B04, else band 1]
        #[arg(long, value_name = "BAND")]
        band: Option<String>,
        /// Window side, pixels
        #[arg(long, value_name = "N", default_value_t = 64)]
        window: usize,
        /// Window spacing, pixels [default: the window side]
        #[arg(long, value_name = "N")]
        step: Option<usize>,
        /// Largest shift searched, pixels
        #[arg(long, value_name = "N", default_value_t = 4)]
        max_shift: usize,
        /// Fail (exit 1) when the RMS shift is over this, pixels
        #[arg(long, value_name = "PX")]
        max_rms: Option<f64>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Time series of one site: per date, the mean and std of each band over the pixels
    /// stable and clear on every date, the cloud, shadow, snow and water %, the clear pixels
    /// and the AOT; per band, the least-squares trend (slope per year, its standard error,
    /// relative drift) to spot calibration drift
    ///
    /// A pixel is clear on a date when every band sees it and its masks show no cloud (CLD bit
    /// ALL: clouds, their extension and shadows; an L1C's CLD 1), no snow or water (L2A MSK) and
    /// no edge (L2A QLT OTH EDG). A date with fewer clear pixels than --min-clear percent of its
    /// seen pixels is reported as too_few_clear_pixels, with no means, and left out of the
    /// stable pixels and the trends. A pixel is stable when on every other date it is valid in
    /// every band, unsaturated and clear (defective pixels, interpolated, are kept). Values are
    /// physical (reflectance for an L1C). The cloud % is computed from the cloud mask as the
    /// processor computes the header's Cloud_Percentage (L2A: the cloud tests' bits REFL,
    /// REFL_VAR and ALT over the 20 m cells every band sees), the header's value beside it; a
    /// product declaring none (NIL=N/A: no cloud detection ran) has its cloud cover not
    /// measured: - in the table, null in JSON. The output is tab-separated: one line per date
    /// (acquisition, product, cloud_percentage, aot, header_cloud_percentage,
    /// shadow_percentage, snow_percentage, water_percentage, clear_pixels, status, the mean of
    /// each band; NA where there is none), a blank line, then one line per band (band,
    /// stable_pixels, dates, slope_per_year, slope_stderr, intercept, mean,
    /// relative_drift_per_year); --json gives the same with the std of each band and its mean
    /// over the pixels clear on that date alone (clear_mean). Products of another site or grid
    /// are a bad input (exit 3).
    #[command(
        after_help = "EXAMPLES:\n  vip-qc series L1C/VE_TEST_VSC_L1VALD_SIMULSIT_2024*.HDR\n  ls L1C/*.HDR | vip-qc series - --json | jq '.trends[] | {band, relative_drift_per_year}'\n  vip-qc series L1C/*.HDR --report series-report\n  vip-qc series L2A/*.HDR --json | jq '.dates[] | {acquisition, aot}'"
    )]
    Series {
        /// Products (.HDR) of one site, any order, or - to read one path per line from stdin
        #[arg(required = true, value_name = "PRODUCT")]
        inputs: Vec<PathBuf>,
        /// Fewest clear pixels a date needs to be averaged, percent of its seen pixels
        #[arg(long, value_name = "PCT", default_value_t = vip::qc::series::MIN_CLEAR_PERCENTAGE,
              value_parser = percentage)]
        min_clear: f64,
        #[command(flatten)]
        report: ReportArgs,
    },
}

/// A percentage, 0 to 100.
fn percentage(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("{s} is not a percentage from 0 to 100")),
    }
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn main() {
    vip::cli::run("vip-qc", |args: Args| {
        let opts = args.common.options();
        match args.command {
            Command::Stats { inputs, report } => {
                vip::qc::run::run_stats(&vip::cli::input_paths(&inputs)?, &report.output()?, &opts)
            }
            Command::Series {
                inputs,
                min_clear,
                report,
            } => vip::qc::run::run_series(
                &vip::cli::input_paths(&inputs)?,
                min_clear,
                &report.output()?,
                &opts,
            ),
            Command::Check {
                inputs,
                rules,
                report,
            } => vip::qc::run::run_check(
                &vip::cli::input_paths(&inputs)?,
                rules.as_deref(),
                &report.output()?,
                &opts,
            ),
            Command::Compare {
                a,
                b,
                tolerance,
                max_fraction,
                band,
                report,
            } => {
                let cmp = vip::qc::compare::CompareOptions {
                    tolerance,
                    max_fraction,
                    band,
                    ..Default::default()
                };
                vip::qc::run::run_compare(&a, &b, &cmp, &report.output()?, &opts)
            }
            Command::Geom {
                product,
                reference,
                band,
                window,
                step,
                max_shift,
                max_rms,
                report,
            } => {
                let g = vip::qc::geom::GeomOptions {
                    band,
                    window,
                    step: step.unwrap_or(window),
                    max_shift,
                    max_rms,
                    ..Default::default()
                };
                vip::qc::run::run_geom(&product, &reference, &g, &report.output()?)
            }
        }
    })
}
