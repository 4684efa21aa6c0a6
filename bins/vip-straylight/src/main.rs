//! vip-straylight: stray-light and cross-talk correction of raw L1A products.

use std::path::PathBuf;

use clap::Parser;
use vip::cli::{CommonArgs, CreationArgs, OutputArgs, Tool};

/// Correct VENµS raw L1A products for stray light (type 1) and cross-talk (type 2).
///
/// Works in sensor geometry with the STRLGT filters of the GIPP folder (and DARKCU, RELSEN,
/// OUTORD to work on the equalised signal); solves observed = true + stray(true) by fixed-point
/// iteration at 1/4 resolution and writes a raw L1A of float32 counts that records the
/// correction (GIPPs, iterations, last update) in its header.
#[derive(Parser)]
#[command(
    name = "vip-straylight",
    version,
    after_help = "EXAMPLES:\n  vip-straylight S/L1A/VE_TEST_VSC_1AVALD_SIMULSIT_20240315.HDR --gipp S/GIPP -o L1A_CORR\n  vip-sim scene --straylight -o S | vip-straylight - --gipp S/GIPP -o C | vip-l1 - --gipp S/GIPP --dem S/DEM.tif --aux S/L1A -o L1C"
)]
struct Args {
    /// Raw L1A products (their .HDR), or - to read one path per line from stdin
    #[arg(required = true, value_name = "L1A")]
    inputs: Vec<PathBuf>,
    /// Folder of GIPP parameter files (STRLGT, DARKCU, RELSEN, OUTORD)
    #[arg(long, value_name = "DIR")]
    gipp: PathBuf,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    co: CreationArgs,
    #[command(flatten)]
    common: CommonArgs,
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn main() {
    vip::cli::run("vip-straylight", |args: Args| {
        let inputs = vip::cli::input_paths(&args.inputs)?;
        vip::straylight::correct::run(
            &inputs,
            &args.gipp,
            &args.common.options().writing(&args.out).creating(&args.co),
        )
    })
}
