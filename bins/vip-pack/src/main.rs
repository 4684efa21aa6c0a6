//! vip-pack: distribution packages (MUSCATE layout, quicklook, checksums, COG, STAC).

use std::path::PathBuf;

use clap::Parser;
use vip::cli::{CommonArgs, Tool};

/// Package VENµS L1C, L2A or L3A products for distribution in the Theia/MUSCATE layout.
#[derive(Parser)]
#[command(
    name = "vip-pack",
    version,
    after_help = "EXAMPLES:\n  vip-pack L2/VE_TEST_VSC_L2VALD_SIMULSIT_20240315.HDR -o DIST\n  vip-maccs l2 - --gipp G -o L2 < l1c.txt | vip-pack - -o DIST"
)]
struct Args {
    /// Native products (their .HDR), or - to read one path per line from stdin
    #[arg(required = true, value_name = "PRODUCT")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn main() {
    vip::cli::run("vip-pack", |args: Args| {
        vip::cli::input_paths(&args.inputs)?;
        Err(vip::VipError::not_yet("vip-pack", "packaging"))
    })
}
