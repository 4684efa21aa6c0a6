//! vip-qc: quality control of any VIP product.

use std::path::PathBuf;

use clap::Parser;
use vip::cli::{CommonArgs, Tool};

/// Check VENµS products and report; the exit status is the verdict (0 pass, 1 fail).
#[derive(Parser)]
#[command(
    name = "vip-qc",
    version,
    after_help = "EXAMPLES:\n  vip-qc OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR --json\n  vip-l1 - --gipp G --dem D -o OUT < l1a.txt | vip-qc -"
)]
struct Args {
    /// Products (their .HDR), or - to read one path per line from stdin
    #[arg(required = true, value_name = "PRODUCT")]
    inputs: Vec<PathBuf>,
    /// Print the report as JSON on stdout
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    common: CommonArgs,
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn main() {
    vip::cli::run("vip-qc", |args: Args| {
        vip::cli::input_paths(&args.inputs)?;
        Err(vip::VipError::not_yet("vip-qc", "quality control"))
    })
}
