//! vip-straylight: stray-light and cross-talk correction of raw L1A products.

use std::path::PathBuf;

use clap::Parser;
use vip::cli::{CommonArgs, Tool};

/// Correct VENµS raw L1A products for stray light (type 1) and cross-talk (type 2).
///
/// Works in sensor geometry with the STRLGT filters of the GIPP folder; writes a raw L1A of the
/// same format.
#[derive(Parser)]
#[command(
    name = "vip-straylight",
    version,
    after_help = "EXAMPLES:\n  vip-straylight S/L1A/VE_TEST_VSC_1AVALD_SIMULSIT_20240315.HDR --gipp S/GIPP -o L1A_CORR\n  vip-straylight - --gipp S/GIPP -o L1A_CORR < list.txt"
)]
struct Args {
    /// Raw L1A products (their .HDR), or - to read one path per line from stdin
    #[arg(required = true, value_name = "L1A")]
    inputs: Vec<PathBuf>,
    /// Folder of GIPP parameter files (STRLGT, RADIOV)
    #[arg(long, value_name = "DIR")]
    gipp: Option<PathBuf>,
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
        vip::cli::input_paths(&args.inputs)?;
        Err(vip::VipError::not_yet(
            "vip-straylight",
            "stray-light correction",
        ))
    })
}
