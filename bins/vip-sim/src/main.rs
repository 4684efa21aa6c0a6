//! vip-sim: simulated VENµS inputs with a known truth, for qualification.

use clap::{Parser, Subcommand};
use vip::cli::{CommonArgs, CreationArgs, OutputArgs, Tool};

/// Simulate VENµS inputs (raw L1A, GIPP set, DEM) together with the truth they were made from.
///
/// Writes DIR/site.json, DIR/DEM.tif, DIR/GIPP/, DIR/L1A/ and DIR/truth/, and prints the path
/// of the raw L1A product on stdout. Same seed, same bytes.
///
/// --site names a known VENµS site (placed at its position) or, with --lat and --lon, any
/// place; the UTM zone follows from the position. Without --time the scene is taken at the
/// VENµS pass time, 10:30 local mean solar time at the site's longitude. `vip-sim series`
/// makes one such scene folder per date (DIR/YYYYMMDD/) over one site grid and DEM, with the
/// atmosphere and the cloud situation of each date drawn from the seed, writes DIR/series.json
/// and prints the L1A paths oldest first.
///
/// The landscape (parcels, tracks and hedges, roads, villages, forests, lakes and rivers) is
/// drawn from a committed table of surface spectra (PROSAIL canopies, soils, urban materials,
/// water, snow) in the season of the date and latitude: crops grow and are harvested, forests
/// leaf out and turn, snow lies above a seasonal snow line. truth/WAT.tif and truth/SNW.tif
/// hold the open-water and snow fractions. --clouds puts cloud layers at their altitudes, seen
/// by each band along its own line of sight and casting shadows on the DEM; the truth then
/// holds CLD_THICK.tif, CLD_THIN.tif (optical thickness), CLA.tif (cloud altitude), CLD_SEEN.tif
/// (clouds where B07's L1C shows them), SHD.tif (direct-sun transmittance: shadows) and
/// clouds.json.
///
/// Without --luts the landscape's spectra are TOA reflectances (truth/TOA_Bnn.tif). With
/// --luts they are surface reflectances seen through an atmosphere made from that LUT set
/// (--aerosol-model, continental unless told): smooth AOT and water-vapour fields (mean ± 25 %, 5 km
/// features), terrain illumination (self shadows, no cast shadows) and the adjacency effect
/// (environment weighted by 6S's environment function), at the scene-centre sun and view
/// angles. The
/// truth then also holds SRE_Bnn.tif (flat-terrain surface reflectance), FRE_Bnn.tif
/// (intrinsic surface reflectance), AOT.tif, WVC.tif and atmosphere.json; the LUT GIPPs are
/// copied into DIR/GIPP.
#[derive(Parser)]
#[command(
    name = "vip-sim",
    version,
    after_help = "EXAMPLES:\n  vip-sim scene -o S\n  vip-sim scene --luts testdata/luts --aot 0.3 --wv 1.5 -o S\n  vip-sim scene --luts testdata/luts --aerosol-model URBAN --aot 0.4 -o S\n  vip-sim scene --site CAMARGUE --date 2018-01-01 --lines 5200 --cols 5200 --ram 1024 -o BIG\n  vip-sim scene --site ATTO --date 2024-08-01 -o S        (a known VENµS site, at its place)\n  vip-sim scene --site SOUTHSIT --lat -33.9 --lon 18.9 --time 08:50:00 -o S\n  vip-sim scene -o S | vip-l1 - --gipp S/GIPP --dem S/DEM.tif -o OUT\n  vip-sim series --site FR-LAM --start 2024-03-01 --count 8 --every 2 --luts testdata/luts -o SER\n  vip-sim series --dates 2024-06-01,2024-06-03,2024-07-15 --clear -o SER   (more: vip-sim series --help)"
)]
struct Args {
    #[command(subcommand)]
    what: What,
    #[command(flatten)]
    common: CommonArgs,
}

/// Examples of `vip-sim series` (its own help, and the tool's).
const SERIES_EXAMPLES: &str = "EXAMPLES:
  vip-sim series --site FR-LAM --start 2024-03-01 --count 8 --every 2 --luts testdata/luts -o SER
  vip-sim series --site CAMARGUE --dates 2024-01-10,2024-02-11,2024-04-02 --clear -o SER
  vip-sim series --site ALPS --lat 45.9 --lon 6.9 --start 2024-10-01 --count 30 --every 4 -o SER
      (an autumn and winter of one place: the snow line comes down, fields are harvested)
  vip-sim series --start 2024-05-01 --count 4 -o SER |
    while read -r l1a; do d=${l1a%/L1A/*}
      vip-l1 \"$l1a\" --gipp \"$d/GIPP\" --dem \"$d/DEM.tif\" --site \"$d/site.json\" -o L1C
    done";

#[derive(Subcommand)]
enum What {
    /// One acquisition over one site: truth scene, DEM, GIPPs and the raw L1A
    Scene(Scene),
    /// One site over many dates: a scene folder per date, one grid and DEM, per-date
    /// atmosphere and sky
    #[command(after_help = SERIES_EXAMPLES)]
    Series(Series),
}

/// What every simulated acquisition of a site is made of (scene and series alike).
#[derive(clap::Args)]
struct Acquisition {
    /// Site: a known VENµS site (placed at its position) or, with --lat/--lon, any name (up to 8
    /// characters of A-Z, 0-9, _ ; padded with _ in file names)
    #[arg(long, default_value = "SIMULSIT")]
    site: String,
    /// Latitude of the site centre, degrees north (-81..81; with --lon)
    #[arg(
        long,
        value_name = "DEG",
        allow_negative_numbers = true,
        requires = "lon"
    )]
    lat: Option<f64>,
    /// Longitude of the site centre, degrees east (with --lat)
    #[arg(
        long,
        value_name = "DEG",
        allow_negative_numbers = true,
        requires = "lat"
    )]
    lon: Option<f64>,
    /// Acquisition time of the scene centre (UTC), HH:MM:SS [default: the VENµS pass, 10:30
    /// local mean solar time at the site's longitude]
    #[arg(long)]
    time: Option<String>,
    /// Lines of the site grid (5 m pixels)
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(32..=20000))]
    lines: u32,
    /// Columns of the site grid (5 m pixels)
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(32..=20000))]
    cols: u32,
    /// Seed of every random draw; same seed, same bytes
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Altitude range of the simulated relief, metres (0-6000)
    #[arg(long, default_value_t = 800.0, allow_negative_numbers = true)]
    relief: f64,
    /// Add stray light and cross-talk (writes the STRLGT GIPPs and truth/RAW_Bnn.tif, the
    /// stray-light-free raw counts); holds the 12 bands in memory
    #[arg(long)]
    straylight: bool,
    /// Put a dark lake in the middle of the site (a bright/dark edge)
    #[arg(long)]
    lake: bool,
    /// Detector (0-5199) of the raw image's first column: the satellite's pointing is trimmed
    /// so that the image starts there, as real products start wherever the site lies in the
    /// swath [default: the site centred on the array]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..5200))]
    first_detector: Option<u16>,
    /// Roll of the satellite towards the site, degrees (positive: looking right of the
    /// track; at most ±45): the orbit passes aside so that the satellite sees the site so
    /// tilted (VENµS acquired up to about 30° off nadir)
    #[arg(
        long,
        value_name = "DEG",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    roll: f64,
    /// Attitude bias of the written AOCDTA against the attitude flown, µrad about the body's
    /// roll, pitch and yaw axes (what refinement on a reference image must find; 37 µrad is
    /// 5 m on the ground from 720 km) [default: none]
    #[arg(
        long,
        value_name = "ROLL,PITCH,YAW",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    attitude_bias: Option<Vec<f64>>,
    /// Time offset of the written GPSDTA and AOCDTA time tags against the image datation,
    /// milliseconds (a sample taken at t is tagged t + offset) [default: none]
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    time_offset: f64,
    /// Attitude noise: jitter of this RMS per axis (µrad, 0-100; near 0.7, 2.3 and 7 Hz) in
    /// the attitude flown, which the 10 Hz AOCDTA samples catch but for its fastest part
    #[arg(long, value_name = "URAD", default_value_t = 0.0)]
    attitude_noise: f64,
    /// Put an atmosphere over the surface, from the LUT GIPP set of --aerosol-model in DIR;
    /// every LUT set of DIR is copied into the scene's GIPP folder (the L2 may choose)
    #[arg(long, value_name = "DIR")]
    luts: Option<std::path::PathBuf>,
    /// Aerosol model of the atmosphere: the nick name of a LUT set in --luts (CONTINEN,
    /// MARITIME, URBAN, DESERT, ...)
    #[arg(long, value_name = "MODEL", default_value = vip::atmosphere::luts::DEFAULT_MODEL, requires = "luts")]
    aerosol_model: String,
    /// Mean aerosol optical thickness at 550 nm (with --luts)
    #[arg(
        long,
        value_name = "MEAN",
        default_value_t = 0.2,
        requires = "luts",
        allow_negative_numbers = true
    )]
    aot: f64,
    /// Mean water-vapour column, g/cm² (with --luts)
    #[arg(
        long,
        value_name = "MEAN",
        default_value_t = 2.0,
        requires = "luts",
        allow_negative_numbers = true
    )]
    wv: f64,
}

impl Acquisition {
    /// The scene of this site on `date`.
    fn spec(&self, date: &str) -> vip::Result<vip::sim::SceneSpec> {
        let (lon, lat) = vip::sim::sites::place(&self.site, self.lon.zip(self.lat))?;
        let time = match &self.time {
            Some(t) => t.clone(),
            None => vip::sim::sites::pass_time_utc(lon)
                .format("%H:%M:%S")
                .to_string(),
        };
        let mut spec = vip::sim::SceneSpec::new(
            &self.site,
            date,
            &time,
            self.lines,
            self.cols,
            self.seed,
            self.relief,
        )?
        .placed(lon, lat)?;
        spec.straylight = self.straylight;
        spec.lake = self.lake;
        spec.first_detector = self.first_detector.map(usize::from);
        spec.roll_deg = self.roll;
        let bias = self.attitude_bias.clone().unwrap_or_else(|| vec![0.0; 3]);
        if bias.len() != 3 {
            return Err(vip::VipError::Usage(format!(
                "--attitude-bias {bias:?}: give three values, ROLL,PITCH,YAW (µrad)"
            )));
        }
        spec.knowledge = vip::geometry::orbital::KnowledgeError {
            roll_urad: bias[0],
            pitch_urad: bias[1],
            yaw_urad: bias[2],
            time_s: self.time_offset * 1e-3,
        };
        spec.attitude_noise_urad = self.attitude_noise;
        spec.atmosphere = self
            .luts
            .clone()
            .map(|luts| vip::sim::atmosphere::AtmosphereSpec {
                luts,
                model: self.aerosol_model.clone(),
                aot_mean: self.aot,
                wv_mean: self.wv,
            });
        Ok(spec)
    }
}

#[derive(clap::Args)]
struct Scene {
    #[command(flatten)]
    acq: Acquisition,
    /// Acquisition date (UTC), YYYY-MM-DD
    #[arg(long, default_value = "2024-03-15")]
    date: String,
    #[command(flatten)]
    clouds: vip::sim::clouds::CloudArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    co: CreationArgs,
}

#[derive(clap::Args)]
struct Series {
    #[command(flatten)]
    acq: Acquisition,
    /// First date (UTC), YYYY-MM-DD, then --count dates --every days apart
    #[arg(long, value_name = "DATE", required_unless_present = "dates")]
    start: Option<String>,
    /// Number of dates from --start
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=400), conflicts_with = "dates")]
    count: u32,
    /// Days between dates from --start (VENµS revisits a site every 2 days)
    #[arg(long, value_name = "DAYS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=366), conflicts_with = "dates")]
    every: u32,
    /// The dates, oldest first, comma separated (instead of --start)
    #[arg(long, value_name = "D1,D2,...", conflicts_with = "start")]
    dates: Option<String>,
    /// Clear skies on every date (else each date's cloud situation is drawn from the seed)
    #[arg(long)]
    clear: bool,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    co: CreationArgs,
}

/// The usage error of a missing -o.
fn output_required(what: &str, out: &OutputArgs) -> vip::Result<()> {
    match out.output {
        Some(_) => Ok(()),
        None => Err(vip::VipError::Usage(format!(
            "vip-sim {what}: -o DIR is required (the folder to create)"
        ))),
    }
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn main() {
    vip::cli::run("vip-sim", |args: Args| match args.what {
        What::Scene(s) => {
            let mut spec = s.acq.spec(&s.date)?;
            spec.clouds = s.clouds.spec(spec.seed)?;
            output_required("scene", &s.out)?;
            vip::sim::write_scene(
                &spec,
                &args.common.options().writing(&s.out).creating(&s.co),
            )
        }
        What::Series(s) => {
            let dates = match (&s.dates, &s.start) {
                (Some(list), _) => vip::sim::series::dates_of_list(list)?,
                (None, Some(start)) => vip::sim::series::dates_from(start, s.count, s.every)?,
                (None, None) => {
                    return Err(vip::VipError::Usage(
                        "vip-sim series: --start DATE or --dates D1,D2,... is required".into(),
                    ))
                }
            };
            let base = s.acq.spec(&dates[0].format("%Y-%m-%d").to_string())?;
            output_required("series", &s.out)?;
            let spec = vip::sim::series::SeriesSpec {
                base,
                dates,
                clouds: !s.clear,
            };
            vip::sim::series::write_series(
                &spec,
                &args.common.options().writing(&s.out).creating(&s.co),
            )
        }
    })
}
