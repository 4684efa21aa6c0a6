//! vip-pack: distribution packages (MUSCATE layout, quicklook, checksums, COG, zip).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vip::cli::{CommonArgs, Tool};

/// Package VENµS products for distribution in the Theia/MUSCATE layout.
///
/// Writes <ID>/ (or <ID>.zip with --zip) in the output directory, where <ID> is
/// VENUS-XS_<yyyymmdd-hhmmss-mmm>_<LEVEL>_<SITE>_C_V1-0: <ID>_MTD_ALL.xml (MUSCATE metadata),
/// one GeoTIFF per band (<ID>_SRE_B1.tif ... B12, int16, reflectance x 1000, nodata -10000),
/// MASKS/<ID>_SAT_XS.tif (uint16, bit n = band Bn saturated), MASKS/<ID>_PIX_XS.tif (uint16,
/// bit n = band Bn aberrant or defective), MASKS/<ID>_EDG_XS.tif (byte, 1 = no data in some
/// band), MASKS/<ID>_CLM_XS.tif (byte, bit 1 = L1 cloud), the quicklook <ID>_QKL_ALL.jpg
/// (B7, B4, B3) and MANIFEST.sha256 (sha256sum format) listing every other file. Only L1C
/// products are packaged by this version.
#[derive(Parser)]
#[command(
    name = "vip-pack",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "EXAMPLES:\n  vip-pack OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR -o DIST\n  vip-pack L1C.HDR -o DIST --cog --zip\n  vip-l1 L1A.HDR --gipp G --dem DEM.tif -o OUT | vip-pack - -o DIST\n  vip-pack verify DIST/VENUS-XS_20240315-103000-000_L1C_SIMULSIT_C_V1-0.zip"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Native products (their .HDR), or - to read one path per line from stdin
    #[arg(required = true, value_name = "PRODUCT")]
    inputs: Vec<PathBuf>,
    /// Write each package as a deterministic <ID>.zip (same input, same bytes) instead of a
    /// folder; rasters are stored, text deflated
    #[arg(long)]
    zip: bool,
    /// Write every raster as a Cloud Optimized GeoTIFF (DEFLATE, overviews)
    #[arg(long)]
    cog: bool,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Check packages (folders or zips) against their MANIFEST.sha256.
    ///
    /// Exit 1 when a file is missing, extra or differs from its checksum (each is named);
    /// exit 3 when the package cannot be read or a zip entry would land outside the package
    /// folder (absolute path or ..).
    #[command(
        after_help = "EXAMPLES:\n  vip-pack verify DIST/VENUS-XS_20240315-103000-000_L1C_SIMULSIT_C_V1-0\n  vip-pack verify DIST/*.zip"
    )]
    Verify {
        /// Package folders or zips
        #[arg(required = true, value_name = "PACKAGE")]
        packages: Vec<PathBuf>,
    },
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn main() {
    vip::cli::run("vip-pack", |args: Args| match args.command {
        Some(Command::Verify { packages }) => packages
            .iter()
            .map(|p| vip::pack::manifest::verify(p))
            .collect(),
        None => {
            let inputs = vip::cli::input_paths(&args.inputs)?;
            let pack = vip::pack::PackOptions {
                zip: args.zip,
                cog: args.cog,
            };
            vip::pack::run(&inputs, &pack, &args.common.options())
        }
    })
}
