//! vip-maccs: L1C to L2A surface reflectance (l2) and L3A composites (l3).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vip::cli::{CommonArgs, Tool};

/// Atmospheric correction and cloud screening of VENµS L1C (l2), and monthly synthesis (l3).
#[derive(Parser)]
#[command(
    name = "vip-maccs",
    version,
    after_help = "EXAMPLES:\n  vip-maccs l2 L1C/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR --gipp S/GIPP --context CTX -o L2\n  vip-maccs l3 L2/*.HDR --gipp S/GIPP -o L3"
)]
struct Args {
    #[command(subcommand)]
    level: Level,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Level {
    /// L1C to L2A: gases, aerosols, water vapour, clouds, adjacency and slope correction
    L2 {
        /// L1C products (their .HDR), or - to read one path per line from stdin
        #[arg(required = true, value_name = "L1C")]
        inputs: Vec<PathBuf>,
        /// Folder of GIPP parameter files (L2COMM, LUTs)
        #[arg(long, value_name = "DIR")]
        gipp: Option<PathBuf>,
        /// Folder holding the previous L2 state of the site
        #[arg(long, value_name = "DIR")]
        context: Option<PathBuf>,
    },
    /// L2A series to an L3A weighted synthesis
    L3 {
        /// L2A products (their .HDR), or - to read one path per line from stdin
        #[arg(required = true, value_name = "L2A")]
        inputs: Vec<PathBuf>,
        /// Folder of GIPP parameter files (L3COMM)
        #[arg(long, value_name = "DIR")]
        gipp: Option<PathBuf>,
    },
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn main() {
    vip::cli::run("vip-maccs", |args: Args| match args.level {
        Level::L2 { inputs, .. } => {
            vip::cli::input_paths(&inputs)?;
            Err(vip::VipError::not_yet("vip-maccs l2", "L2A processing"))
        }
        Level::L3 { inputs, .. } => {
            vip::cli::input_paths(&inputs)?;
            Err(vip::VipError::not_yet("vip-maccs l3", "L3A synthesis"))
        }
    })
}
