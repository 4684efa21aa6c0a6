//! vip-maccs: L1C to L2A surface reflectance (l2) and L3A composites (l3).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vip::cli::{CommonArgs, CreationArgs, OutputArgs, Tool};

/// Atmospheric correction and cloud screening of VENµS L1C (l2), and monthly synthesis (l3).
#[derive(Parser)]
#[command(
    name = "vip-maccs",
    version,
    after_help = "EXAMPLES:\n  vip-maccs l2 L1C/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR --gipp S/GIPP --dem S/DEM.tif -o L2\n  vip-maccs l2 L1C/*.HDR --context CTX/SIMULSIT --mode backward --gipp S/GIPP --dem S/DEM.tif -o L2\n  vip-maccs l3 L2/VE_*_L2*.HDR --date 2024-03-15 --gipp S/GIPP -o L3\n  echo 'B04 40 10 60 0.2 2.0 0.3 0.25' | vip-maccs lut --gipp testdata/luts --model URBAN\n  vip-maccs lut-build tables-URBAN.json -o GIPP\n  vip-maccs l2 L1C/*.HDR --model auto --gipp S/GIPP --dem S/DEM.tif -o L2"
)]
struct Args {
    #[command(subcommand)]
    level: Level,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Level {
    /// L1C to L2A: gases, aerosols, water vapour, adjacency and slope correction
    ///
    /// Writes one L2A per L1C (native EE format: SRE and FRE surface reflectance, ATB, QLT,
    /// MSK, CLD, SOL, VIE) and prints its header path. On a coarse grid of 240 m cells: water
    /// vapour from the B12 (910 nm) / B11 (865 nm) pair, the column that makes their surface
    /// reflectances agree (cells with B11 TOA under 0.1 are filled from their neighbours);
    /// AOT at 550 nm by the multi-spectral dark-vegetation method (pixels of TOA NDVI
    /// (B11, B07) > 0.65 and red TOA < 0.15; surface B03 = 0.70 × B07 + 0.005, the PROSAIL
    /// canopies' line; their reflectances corrected for adjacency with their own environment
    /// at every AOT; least squares over the 5 × 5 cells around each cell, at least 3 of them
    /// with 50 dark pixels), cells without
    /// an estimate filled from their neighbours (or 0.1 when none has one), Gaussian
    /// smoothing of 1 cell. Per pixel, the terms of the LUTs at the cell centres (angles from
    /// the L1C SOL/VIE grids) are interpolated bilinearly and linearly in the DEM altitude,
    /// and the TOA reflectance inverted: ρs = y/(1 + S·y), y = (ρ_TOA − Tg_path·ρ_path) /
    /// (Tg·T↓·T↑); adjacency (environment ρe: the uniform-surface reflectances of 50 m cells
    /// weighted by 6S's environment function of the band, Rayleigh and aerosol parts by their
    /// diffuse transmissions, corrected for their own adjacency by 3 fixed-point passes;
    /// interpolated bilinearly): SRE = [ρs·T↑·(1 −
    /// S·ρe)/(1 − S·ρs) − T↑dif·ρe] / T↑dir; slope (DEM normal, sun incidence i): FRE = SRE
    /// / [p·cos i / cos θs + (1 − p)(1 + cos β)/2 + ρe(1 − cos β)/2], p = T↓dir/T↓, cos i
    /// held at 0.2 or more.
    ///
    /// Aerosol model (which LUT set of --gipp): --model, else the site's (L2SITE
    /// Aerosol_Model, else L2COMM Constant_Model, else CONTINEN). The automatic choice
    /// (--model auto, or L2SITE Automatic_Choice true) scores every set on the dark vegetation
    /// of 5 × 5-cell windows: surface B01, B02, B03 against B07 (0.64 × B07 + 0.0046, 0.63 ×
    /// B07 + 0.0052, the AOT relation), one least-squares AOT per window; the lowest RMS
    /// residual wins, unless fewer than 4 windows hold dark vegetation or it does not fit
    /// better than the site's model consistently (paired t of the windows' squared residuals
    /// under 3): then the site's model. These relations tell models apart by their particle
    /// size (desert dust against continental), not by their absorption: on urban aerosols
    /// they pick a coarse model, and desert dust and sea salt look alike. With --context each
    /// model also inverts the composite of the last clear date at that date's own
    /// dark-vegetation AOT, and its surfaces of both dates are compared (absorption shows
    /// there, as the two dates' aerosol loads differ): a model whose dates agree better than
    /// the dark vegetation's choice's, consistently over at least 4 windows (paired t 3),
    /// is taken instead. Without a context, a site with absorbing or coarse aerosols names
    /// its model in its L2SITE. The header's Notes says which and why.
    ///
    /// Outputs: SRE, FRE int16 ρ × 1000, no-data −10000 (no band image, or a negative TOA
    /// in that band); ATB uint8 band 1 water vapour × 20 (g/cm²), band 2 AOT × 200, no-data
    /// 0; QLT uint16 band 1 SAT and band 2 PIX copied from the L1C (bit n−1 = band Bn), band 3
    /// bits 1 EDG (no data), 2 IAO (AOT filled in), 3 IWC (water vapour filled in), 4 altitude
    /// outside the LUTs (terms taken at its edge); MSK uint8 bits 1 WAT (water), 2 HID
    /// (hidden from the satellite), 3 SHD (cast shadow), 4 STL (cos i < 0.2), 5 TGS (cos i /
    /// cos θs < 0.2), 6 SNW (snow, a VIP addition); CLD uint8 bits 1 ALL (any below), 2
    /// ALL_CLOUDS, 3 SHADOWS, 4 SHADVAR (not set), 5 REFL, 6 REFL_VAR, 7 EXTENSION, 8 ALT.
    ///
    /// Masks, before any estimate (aerosol and water vapour use only pixels free of cloud,
    /// shadow, snow and water), on the Rayleigh-corrected reflectance (RCR: TOA inverted at
    /// AOT 0): REFL blue (B03) > 0.25 with NIR/red (B11/B07) in 0.5–2; REFL_VAR blue above the
    /// context's composite by 0.03 + 0.03 × age/30 days (at most 0.08), red and NIR up by at
    /// least 0.5 × the blue rise, red by at most 1.6 ×; ALT the L1 stereo mask where the blue
    /// rose over the composite by 0.03 (without history: flat and blue > 0.15); snow: blue >
    /// 0.2, flat, NIR ≤ 0.95 × blue, no stereo cloud; water: NDVI < 0, NIR < 0.1, slope <
    /// 0.05. EXTENSION: clouds dilated by 200 m on 20 m cells. SHADOWS: ground points whose sun
    /// ray meets a cloud at its altitude (the median of its stereo altitudes from the L1C CLA
    /// annex, else the stereo clouds' median height above the ground, else 2000 m). Above 90 %
    /// of cloud (Max_Cloud_Percentage) the date is not issued: only its global header
    /// VE_*_VSC_L2NOTV_*.HDR is written (the cloud percentage, and the reason in its Notes;
    /// no .DBL.DIR), the context is not updated, and the tool exits 1 with one line naming
    /// the L1C, the cloud percentage and that header.
    ///
    /// Memory: the mask pass holds the scene's CLD and MSK (a byte each per pixel), then
    /// leaves them in an anonymous temporary file in TMPDIR (removed at exit) from which the
    /// later passes read their strips. Besides the strips (sized from --ram) it holds the DEM
    /// and grids of 20 m cells or coarser.
    ///
    /// The values above are the defaults; an L2COMM GIPP in --gipp applicable to the L1C sets
    /// them instead (bands, NDVI and red thresholds, MS_Slope, MS_YIntercept, Default_AOT,
    /// Half_Window_Size, Sigma_Smoothing_AOT, Slope_Min_Cos_I, Min_Cos_Ratio, the
    /// water-vapour bands and threshold, the Cloud_Masking and Water_Masking elements,
    /// Max_Cloud_Percentage, Max_Age, Number_Of_Stack_Images; window sizes in pixels of the VENµS chain's 100 m
    /// coarse grid; Env_Corr_Radius is not read, the environment follows 6S's function) and is
    /// listed in the product header; its ozone is checked against the LUTs'.
    ///
    /// A sun or view zenith angle beyond the LUTs, an L1C without angle grids, a DEM that does
    /// not cover the L1C, an L2COMM missing a parameter, a GIPP of another mission, an aerosol
    /// model without a LUT set in --gipp (the message lists the sets there) or a LUT set whose
    /// files disagree on an axis is bad input (exit 3).
    L2 {
        /// L1C products: native (their .HDR) or Theia/MUSCATE (package folder, zip or
        /// *_MTD_ALL.xml, read where they are), or - to read one path per line from stdin
        #[arg(required = true, value_name = "L1C")]
        inputs: Vec<PathBuf>,
        /// Folder of GIPP parameter files (the LUT set of the aerosol model, optionally L2COMM)
        #[arg(long, value_name = "DIR")]
        gipp: PathBuf,
        /// Site DEM (GeoTIFF, metres, in the L1C's projection, covering it)
        #[arg(long, value_name = "DEM")]
        dem: PathBuf,
        /// The site's context: its L2 history (composite of the last clear pixels, their
        /// dates, a stack of recent dates, the last cloud mask and altitude, the water
        /// history), read by the multi-temporal cloud tests and updated atomically after each
        /// product; created when missing. Without it every product is made in init mode and
        /// nothing is kept
        #[arg(long, value_name = "DIR")]
        context: Option<PathBuf>,
        /// Processing mode with --context: init (no history), nominal (each L1C, oldest
        /// first, with the history the previous left), backward (the history is first built
        /// from the L1Cs newest to second-oldest, so the first product is not made blind; then
        /// as nominal) [default: nominal when the context is less than Max_Age days older
        /// than the first L1C, else backward with several L1Cs, init with one]
        #[arg(long, value_enum, requires = "context")]
        mode: Option<ModeArg>,
        /// Aerosol model: the nick name of a LUT set in --gipp (CONTINEN, MARITIME, URBAN,
        /// DESERT, ...) for every scene, or `auto`: per scene, the set whose dark-vegetation
        /// residuals are smallest, the site's model when the evidence is weak [default: the
        /// site's model (L2SITE Aerosol_Model, else L2COMM Constant_Model, else CONTINEN), and
        /// the automatic choice when its L2SITE asks for it]
        #[arg(long, value_name = "MODEL|auto")]
        model: Option<vip::level2::aerosol::Request>,
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        co: CreationArgs,
    },
    /// L2A series to an L3A: weighted-average synthesis of the clear observations (CNES WASP)
    ///
    /// Writes one L3A (native EE format) for the site of the L2As at --date and prints its
    /// header path. Takes the L2As within --half-window days of the date (others, and L2NOTV
    /// headers of dates too cloudy to issue, are passed over and logged). Per pixel, the flat
    /// reflectances (FRE) of the clear land observations (CLD ALL, MSK WAT and SNW clear, at
    /// most Max_Sat_Bands saturated bands) are averaged with the weights W = W_AOT · W_cloud ·
    /// W_date: W_AOT falls linearly from Max_Weight_AOT at AOT 0 to Min_Weight_AOT at
    /// Max_AOT_Linear (WASP: 1, 0.33, 0.8); W_cloud = (1 − d_small)(1 − d_large), d the
    /// cloud mask (clouds and shadows) on a 240 m grid (a cell is cloudy when more than half
    /// of it is) smoothed by Gaussians of Sigma_Small_Cloud_Dist and Sigma_Large_Cloud_Dist
    /// cells (2 and 10), interpolated back to the pixels, times a feather rising from 0 at the
    /// edge of the date's cloud mask to 1 at 240 m (a VIP addition: without it the average
    /// steps along every cloud outline); W_date falls linearly from 1 at the date to 0.5 at
    /// the window's edge (computed in reals: WASP's integer division keeps it at 1 inside the
    /// window). Clear observations that stand out of the pixel's median like a cloud or a
    /// shadow the L2 masks missed (blue B03 up by more than 0.04 and whitening; or near
    /// infrared B11, red B07 and blue under 0.7, 0.8 and 0.9 times the median) are left out
    /// (a VIP addition). A pixel never seen clear takes snow or water from the observation
    /// nearest the date, else a saturated observation, else, under cloud, the observation of
    /// darkest blue (B03).
    ///
    /// Outputs: FRE int16 ρ × 1000, no-data −10000; QLT int16 band 1 PXD weighted-average
    /// date in days from --date (−32768 none), 2 WGT sum of the weights × 1000, 3 NBD number
    /// of clear dates averaged, 4 SAT saturated-band bits of the observations used; MSK uint8
    /// FLG, WASP's status values: 0 no data, 1 cloud, 2 snow, 3 water, 4 land, 5 cloud
    /// shadow, 6 saturated; the quicklook (CKQLTL bands and stretch). The header lists every
    /// L2A used. Weights and Max_Sat_Bands come from the L3COMM GIPP in --gipp applicable to
    /// the site (Sigma in cells of the 240 m grid, AOT weights in hundredths), else WASP's
    /// defaults.
    ///
    /// L2As of different sites, grids or reflectance codings, two L2As of one date, or an
    /// unreadable input: exit 3 naming the file (the synthesis does not leave a date out
    /// silently). No valid L2A in the window: nothing written, exit 1.
    L3 {
        /// L2A products: native (their .HDR) or Theia/MUSCATE (package folder, zip or
        /// *_MTD_ALL.xml), or - to read one path per line from stdin
        #[arg(required = true, value_name = "L2A")]
        inputs: Vec<PathBuf>,
        /// Synthesis (central) date, YYYY-MM-DD
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: chrono::NaiveDate,
        /// Half window, days: the L2As from date − DAYS to date + DAYS are used
        #[arg(long, value_name = "DAYS", default_value_t = vip::composite::DEFAULT_HALF_WINDOW_DAYS)]
        half_window: u32,
        /// Folder of GIPP parameter files (L3COMM and CKQLTL, when there)
        #[arg(long, value_name = "DIR")]
        gipp: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        co: CreationArgs,
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
        /// Aerosol model: the nick name of a LUT set in --gipp (CONTINEN, MARITIME, URBAN,
        /// DESERT, ...)
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
        /// Aerosol model: the GIPPs' applicability nick name [default: the tables' model]
        #[arg(long)]
        model: Option<String>,
        /// File_Class of the GIPPs
        #[arg(long, default_value = "TEST")]
        class: String,
        #[command(flatten)]
        out: OutputArgs,
    },
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

/// `--mode` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    Init,
    Nominal,
    Backward,
}

impl ModeArg {
    fn mode(self) -> vip::context::Mode {
        match self {
            ModeArg::Init => vip::context::Mode::Init,
            ModeArg::Nominal => vip::context::Mode::Nominal,
            ModeArg::Backward => vip::context::Mode::Backward,
        }
    }
}

fn main() {
    vip::cli::run("vip-maccs", |args: Args| match args.level {
        Level::L2 {
            inputs,
            gipp,
            dem,
            context,
            mode,
            model,
            out,
            co,
        } => {
            let inputs = vip::cli::input_paths(&inputs)?;
            let l2 = vip::level2::L2Options {
                gipp,
                dem,
                context,
                mode: mode.map(ModeArg::mode),
                model,
                params: vip::level2::Params::default(),
            };
            vip::level2::run(
                &inputs,
                &l2,
                &args.common.options().writing(&out).creating(&co),
            )
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
            out,
        } => vip::atmosphere::luts::build_gipps(
            &tables,
            model.as_deref(),
            &class,
            &args.common.options().writing(&out),
        ),
        Level::L3 {
            inputs,
            date,
            half_window,
            gipp,
            out,
            co,
        } => {
            let inputs = vip::cli::input_paths(&inputs)?;
            let l3 = vip::composite::L3Options {
                date,
                half_window_days: half_window,
                gipp,
            };
            vip::composite::run(
                &inputs,
                &l3,
                &args.common.options().writing(&out).creating(&co),
            )
        }
    })
}
