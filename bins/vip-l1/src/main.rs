//! vip-l1: raw L1A to orthorectified L1C TOA reflectance.

use std::path::PathBuf;

use clap::Parser;
use vip::cli::{CommonArgs, CreationArgs, OutputArgs, Tool};

/// Turn raw VENµS L1A products into orthorectified L1C TOA reflectance.
///
/// Radiometry (dark current, equalisation, defective detectors, absolute gain, TOA reflectance)
/// in sensor geometry, then each band located with its own viewing geometry over the DEM and
/// resampled into the site's UTM grid. The location comes from the ephemeris, attitude and
/// Earth orientation files; with the site's reference image (AUX_REFIMG) among them, B05 is
/// correlated against it and the attitude biases and time offset of those files are
/// estimated and removed first (the header's IMAGE_RESIDUES_REFIMG and CORRELATION_* of B05;
/// without one the product is unrefined and says so). Clouds are found by stereo, as the VENµS L1 chain did
/// (CLOUDD GIPP): the parallax between B05 and B06 gives each cloud's height above the DEM,
/// written as the CLA annex (altitude, 20 m) and the CLD band (0 clear, 1 cloud); bright ground
/// such as snow has no parallax and stays clear. A quicklook (CKQLTL GIPP) and the cloud
/// percentage and statistics complete the header.
#[derive(Parser)]
#[command(
    name = "vip-l1",
    version,
    after_help = "EXAMPLES:\n  vip-l1 S/L1A/VE_TEST_VSC_1AVALD_SIMULSIT_20240315.HDR --gipp S/GIPP --dem S/DEM.tif -o OUT\n  vip-sim scene -o S | vip-l1 - --gipp S/GIPP --dem S/DEM.tif -o OUT\n  vip-l1 L1A.HDR --gipp S/GIPP --dem S/DEM.tif --site S/site.json -r bilinear -o OUT"
)]
struct Args {
    /// Raw L1A products (their .HDR), or - to read one path per line from stdin
    #[arg(required = true, value_name = "L1A")]
    inputs: Vec<PathBuf>,
    /// Folder of GIPP parameter files (DARKCU, RELSEN, OUTORD, VIEDIR, PHGAIN, REFLEC, CLOUDD,
    /// CKQLTL)
    #[arg(long, value_name = "DIR")]
    gipp: PathBuf,
    /// Site DEM (GeoTIFF, metres above the WGS 84 ellipsoid); its projection is the output
    /// grid's
    #[arg(long, value_name = "DEM")]
    dem: PathBuf,
    /// Folder of the acquisition's auxiliary data: the GPS ephemeris (AUX_GPSDTA) and
    /// attitude (AUX_AOCDTA) files its L1A lists, an Earth orientation file (EXO_EORDTA)
    /// valid at its date and the site's reference image (AUX_REFIMG, optional) [default: the
    /// L1A's folder]
    #[arg(long, value_name = "DIR")]
    aux: Option<PathBuf>,
    /// Resampling kernel: nearest, bilinear or cubic
    #[arg(long, short = 'r', value_name = "KERNEL", default_value = "cubic")]
    resampling: vip::geometry::resample::Resampling,
    /// Output grid (site.json as vip-sim writes it) [default: the product's footprint on the
    /// 5 m lattice of the DEM's projection]
    #[arg(long, value_name = "FILE")]
    site: Option<PathBuf>,
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
    vip::cli::run("vip-l1", |args: Args| {
        let inputs = vip::cli::input_paths(&args.inputs)?;
        let l1 = vip::level1::L1Options {
            resampling: args.resampling,
            site: args.site,
            aux: args.aux,
        };
        vip::level1::run(
            &inputs,
            &args.gipp,
            &args.dem,
            &l1,
            &args.common.options().writing(&args.out).creating(&args.co),
        )
    })
}
