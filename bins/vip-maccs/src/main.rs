//! vip-maccs: L1C to L2A surface reflectance (l2) and L3A composites (l3).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vip::cli::{CommonArgs, Tool};

/// Atmospheric correction and cloud screening of VENµS L1C (l2), and monthly synthesis (l3).
#[derive(Parser)]
#[command(
    name = "vip-maccs",
    version,
    after_help = "EXAMPLES:\n  vip-maccs l2 L1C/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR --gipp S/GIPP --context CTX -o L2\n  vip-maccs l3 L2/*.HDR --gipp S/GIPP -o L3\n  echo 'B04 40 10 60 0.2 2.0 0.3 0.25' | vip-maccs lut --gipp testdata/luts\n  vip-maccs lut-build tables.json --model CONTINEN -o GIPP"
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
    /// LUT probe: atmospheric terms, forward TOA and inverted surface reflectance per case
    ///
    /// Reads cases on stdin, one per line: `band sza vza raa aot wv alt_km rho` (band B01..B12
    /// or 1..12; sun zenith, view zenith and relative azimuth |φsun − φview| in degrees, 0 =
    /// backscattering; AOT at 550 nm; water vapour g/cm²; altitude km; surface reflectance, or
    /// TOA reflectance with --toa). Blank lines, `#` comments, a `band...` header line and
    /// extra columns are ignored. Prints one line per case (TSV with a header, or --json):
    /// the inputs, `input` (the reflectance read), the interpolated terms `rho_path` (gas-free
    /// path reflectance), `tg_path` (its gaseous transmission), `tg` (gaseous transmission sun
    /// → surface → sensor), `t_down`, `t_up` (total transmissions), `s` (spherical albedo),
    /// then `toa` = tg_path·rho_path + tg·t_down·t_up·rho/(1 − s·rho) and `rho_s` (its
    /// inverse), and `clamped`: the LUT axes the case fell outside of (its value clamped to
    /// the table's edge), `-` if none. Same code as the image correction.
    Lut {
        /// Folder holding the LUT GIPPs (L2TOCR, L2DIRT, L2DIFT, L2ALBD, L2GAST)
        #[arg(long, value_name = "DIR")]
        gipp: PathBuf,
        /// Aerosol model: the GIPPs' applicability nick name
        #[arg(long, default_value = "CONTINEN")]
        model: String,
        /// The last column is TOA reflectance: invert it
        #[arg(long)]
        toa: bool,
        /// JSON array instead of TSV
        #[arg(long)]
        json: bool,
    },
    /// Write a LUT set as GIPPs from the 6S tables of scripts/make-luts
    LutBuild {
        /// JSON tables written by scripts/sixs/make_luts.py
        #[arg(value_name = "TABLES")]
        tables: PathBuf,
        /// Aerosol model: the GIPPs' applicability nick name
        #[arg(long, default_value = "CONTINEN")]
        model: String,
        /// File_Class of the GIPPs
        #[arg(long, default_value = "TEST")]
        class: String,
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
        Level::Lut {
            gipp,
            model,
            toa,
            json,
        } => {
            let luts = vip::atmosphere::LutSet::read(&gipp, &model)?;
            let cases =
                vip::atmosphere::probe::probe(&luts, std::io::stdin().lock(), toa, "stdin")?;
            match vip::atmosphere::probe::write(&cases, json, std::io::stdout().lock()) {
                // the reader stopped early (`| head`): not an error
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(vip::VipError::output("stdout", e))
                }
                _ => Ok(vec![]),
            }
        }
        Level::LutBuild {
            tables,
            model,
            class,
        } => vip::atmosphere::luts::build_gipps(&tables, &model, &class, &args.common.options()),
        Level::L3 { inputs, .. } => {
            vip::cli::input_paths(&inputs)?;
            Err(vip::VipError::not_yet("vip-maccs l3", "L3A synthesis"))
        }
    })
}
