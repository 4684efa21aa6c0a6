//! vip-qc: quality control of any VIP product.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vip::cli::{CommonArgs, Tool};

/// Check VENµS products and report; the exit status is the verdict (0 pass, 1 fail, 3 bad
/// input).
///
/// PRODUCT is an L1C or raw L1A global header (.HDR) or any raster GDAL reads. Reports go to
/// stdout: a table, or JSON with --json (one object per product).
#[derive(Parser)]
#[command(
    name = "vip-qc",
    version,
    subcommand_required = true,
    arg_required_else_help = true,
    after_help = "EXAMPLES:\n  vip-qc stats OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR --json\n  vip-l1 - --gipp G --dem D -o OUT < l1a.txt | vip-qc stats -"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// Print the report as JSON on stdout
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    common: CommonArgs,
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
        after_help = "EXAMPLES:\n  vip-qc stats OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR\n  vip-qc stats image.tif --json | jq '.bands[] | {name, mean, std}'\n  vip-l1 L1A.HDR --gipp G --dem D -o OUT | vip-qc stats - --json"
    )]
    Stats {
        /// Products (.HDR) or rasters, or - to read one path per line from stdin
        #[arg(required = true, value_name = "PRODUCT")]
        inputs: Vec<PathBuf>,
    },
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn main() {
    vip::cli::run("vip-qc", |args: Args| {
        let opts = args.common.options();
        let out = vip::qc::run::Output { json: args.json };
        match args.command {
            Command::Stats { inputs } => {
                vip::qc::run::run_stats(&vip::cli::input_paths(&inputs)?, &out, &opts)
            }
        }
    })
}
