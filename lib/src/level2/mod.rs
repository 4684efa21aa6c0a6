//! `vip-maccs l2`: L1C (TOA reflectance) to L2A (surface reflectance).
//!
//! 1. One streaming pass over the L1C sums, per coarse cell (`Params::coarse_m`, 240 m), the
//!    TOA of the pixels valid for estimation, of the dark vegetation and of the pixels bright
//!    enough for water vapour, and the DEM altitude.
//! 2. On the coarse grid: water vapour from the B11/B12 pair (at the default AOT), AOT by the
//!    multi-spectral method, water vapour again at that AOT; each gap-filled (flagged) and
//!    smoothed. The atmospheric terms of every band are computed from the LUTs at every cell
//!    centre (its sun and view angles from the SOL/VIE grids, its AOT and water vapour), as a
//!    linear function of altitude over the altitudes of the cell and its neighbours. The
//!    environment reflectance lives on a finer grid of [`ENV_CELL_M`] cells (summed in the
//!    same pass): their uniform-surface reflectances weighted by 6S's environment function
//!    of each band ([`crate::atmosphere::environment`]; a few hundred metres for aerosols,
//!    kilometres for Rayleigh) and corrected for their own adjacency by fixed-point passes.
//! 3. A second streaming pass corrects each pixel: terms interpolated bilinearly between cell
//!    centres at the pixel's DEM altitude, the uniform-surface inversion, the adjacency
//!    correction (SRE), and the slope correction with the DEM normal (FRE); see
//!    [`crate::atmosphere::surface`].
//!
//! LUT coverage: a sun or view zenith angle beyond the tables is bad input (angles are not
//! extrapolated); an altitude outside the altitude axis is clamped to it and the pixel flagged
//! (QLT OTH bit 4); AOT and water vapour are searched inside their axes only.
//!
//! Memory: two strips of rows (sized by `--ram`), the DEM and the coarse grids. Parallel over
//! rows and cells with results gathered in a fixed order, so outputs are byte-identical for
//! any `--threads`.

pub mod aerosol;
mod clouds;
mod coarse;
pub mod l2comm;
mod modes;
pub mod terrain;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::atmosphere::aot::DarkVegetation;
use crate::atmosphere::field::{bracket, Field};
use crate::atmosphere::surface::{direction, PixelTerms, Slope, SlopeLight};
use crate::atmosphere::LutSet;
use crate::cli::{progress, Options};
use crate::cloud::mask::CloudParams;
use crate::context::{Context, ContextWriter, Mode, Observation, Rule, Update};
use crate::error::{Result, VipError};
use crate::geometry::dem::{Dem, Gradient, Span};
use crate::geometry::directions::DirectionGrid;
use crate::geometry::grid::Site;
use crate::mission::venus::BANDS;
use crate::product::l1c::{self, L1c};
use crate::product::l2a::{self, bits, L2a};
use crate::raster::{self, RasterSpec, SampleType, StagedProduct, Strips};
use coarse::{at_altitude, CellGeometry, CellSums, Coarse, EnvSums, Estimate, Grid, NodeTerms, NB};
use terrain::Occlusion;

/// Processing parameters: VIP's defaults (MAJA's where they apply, see the man page), or those
/// of an L2COMM GIPP ([`l2comm`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Coarse grid cell, metres.
    pub coarse_m: f64,
    /// Bands (0-based) of the aerosol method: blue, red, near infrared.
    pub blue: usize,
    pub red: usize,
    pub nir: usize,
    /// Dark vegetation: NDVI (TOA) above, red TOA below. The default NDVI 0.65 keeps dense
    /// canopies, where the blue-red relation is tightest, and few mixtures with soil or roads.
    pub ndvi_min: f64,
    pub red_toa_max: f64,
    /// Surface blue = slope × red + intercept over dark vegetation. The default (B03 =
    /// 0.70 × B07 + 0.005) is the least-squares line of the PROSAIL canopies of
    /// `testdata/spectra` with NDVI(B07, B11) > 0.5 (819 spectra: LAI, chlorophyll, leaf water,
    /// senescence and soil moisture over their ranges; residual sd 0.0018). The 0.5 × red of
    /// the VENµS test L2COMM (`testdata/venus/examples`) is 30 % low on those canopies: it
    /// biased the retrieved AOT by +0.12 to +0.22 on the simulated scenes of the L2 tests.
    pub dark_vegetation: DarkVegetation,
    /// The other blue bands' relations to red over dark vegetation, which with the one above
    /// score the aerosol models ([`aerosol`]). The defaults (B01 = 0.64 × B07 + 0.0046, B02 =
    /// 0.63 × B07 + 0.0052; residual sd 0.0040 and 0.0034) are the least-squares lines of the
    /// same canopies.
    pub choice_relations: Vec<(usize, DarkVegetation)>,
    /// Half size of the AOT window (cells) and the fewest cells with dark vegetation in it.
    pub aot_half_window: usize,
    pub min_dark_cells: usize,
    /// Fewest pixels for a cell to count (dark vegetation, water vapour, environment).
    pub min_pixels: f64,
    /// AOT where none can be estimated, and smoothing of the AOT field (cells).
    pub default_aot: f64,
    pub aot_sigma: f64,
    /// Water-vapour bands (reference 865 nm, absorbing 910 nm), the reference TOA below
    /// which a pixel is too dark, the default column (g/cm²) and smoothing (cells).
    pub wv_reference: usize,
    /// Continuum band below the reference: the absorbing band's surface reflectance is
    /// extrapolated from the two (`None`: taken equal to the reference's).
    pub wv_continuum: Option<usize>,
    pub wv_absorbing: usize,
    pub wv_reference_min: f64,
    pub default_wv: f64,
    pub wv_sigma: f64,
    /// Slope correction: lowest cos i used (below: STL), lowest cos i / cos θs (below: TGS).
    pub min_cos_i: f64,
    pub min_cos_ratio: f64,
    /// Cloud, shadow, snow and water masks.
    pub clouds: CloudParams,
}

impl Params {
    /// Whether TOA reflectances `t` (12 bands) are dark vegetation: NDVI over
    /// [`Params::ndvi_min`], red under [`Params::red_toa_max`].
    pub fn is_dark_vegetation(&self, t: &[f64; coarse::NB]) -> bool {
        let (red, nir) = (t[self.red], t[self.nir]);
        (nir - red) / (nir + red) > self.ndvi_min && red < self.red_toa_max
    }
}

impl Default for Params {
    fn default() -> Self {
        Params {
            coarse_m: 240.0,
            blue: 2,
            red: 6,
            nir: 10,
            ndvi_min: 0.65,
            red_toa_max: 0.15,
            dark_vegetation: DarkVegetation {
                slope: 0.70,
                intercept: 0.005,
            },
            choice_relations: vec![
                (
                    0,
                    DarkVegetation {
                        slope: 0.64,
                        intercept: 0.0046,
                    },
                ),
                (
                    1,
                    DarkVegetation {
                        slope: 0.63,
                        intercept: 0.0052,
                    },
                ),
            ],
            aot_half_window: 2,
            min_dark_cells: 3,
            min_pixels: 50.0,
            default_aot: 0.1,
            aot_sigma: 1.0,
            wv_reference: 10,
            wv_continuum: Some(9),
            wv_absorbing: 11,
            wv_reference_min: 0.1,
            default_wv: 2.0,
            wv_sigma: 1.0,
            min_cos_i: 0.2,
            min_cos_ratio: 0.2,
            clouds: CloudParams::default(),
        }
    }
}

/// What vip-maccs l2 is asked beyond the shared options.
#[derive(Debug, Clone)]
pub struct L2Options {
    pub gipp: PathBuf,
    pub dem: PathBuf,
    /// The site's context folder (its L2 history, [`crate::context`]), read and updated.
    pub context: Option<PathBuf>,
    /// Processing mode with a context (`None`: chosen, see [`modes`]).
    pub mode: Option<Mode>,
    /// Aerosol model asked for (`None`: the site's, [`aerosol::site_model`]).
    pub model: Option<aerosol::Request>,
    pub params: Params,
}

/// Runs the L2 processing on each input; returns the L2A header paths. Without a context
/// every product is made in init mode and no history is kept.
pub fn run(inputs: &[PathBuf], l2: &L2Options, opts: &Options) -> Result<Vec<PathBuf>> {
    // MUSCATE L1Cs are read through their native views, which live until the run ends.
    let views = inputs
        .iter()
        .map(|p| crate::product::muscate::Input::open(p, &["L1C"]))
        .collect::<Result<Vec<_>>>()?;
    let inputs: Vec<PathBuf> = views.iter().map(|v| v.hdr.clone()).collect();
    let inputs = inputs.as_slice();
    match (&l2.context, l2.mode) {
        (Some(dir), mode) => modes::run(inputs, dir, mode, l2, opts),
        (None, None | Some(Mode::Init)) => inputs.iter().map(|p| process(p, l2, opts)).collect(),
        (None, Some(_)) => Err(VipError::Usage(
            "--mode nominal and backward need --context DIR".into(),
        )),
    }
}

/// Spacing of the AOT nodes the cost is tabulated at.
const AOT_STEP: f64 = 0.05;
/// Cell of the environment grid, metres (rounded to whole pixels): fine enough for the
/// aerosol part of the environment function, whose weight is half spent within 300 m.
pub const ENV_CELL_M: f64 = 50.0;

/// One L1C → L2A in init mode, no context kept.
pub fn process(hdr: &Path, l2: &L2Options, opts: &Options) -> Result<PathBuf> {
    process_with(hdr, l2, opts, &modes::History::none())
}

/// One L1C → L2A with `history`.
fn process_with(
    hdr: &Path,
    l2: &L2Options,
    opts: &Options,
    history: &modes::History,
) -> Result<PathBuf> {
    let l1c = L1c::open(hdr)?;
    let catalogue = crate::ee::GippCatalogue::scan(&l2.gipp)?;
    let (params, l2comm) = parameters(&catalogue, &l1c, &l2.params)?;
    let p = &params;
    let dir = hdr.parent().unwrap_or(Path::new("."));
    // the site's model is read only where the L2 may use it: not under --model NAME
    let site = || {
        aerosol::site_model(
            &catalogue,
            &l1c.site.nick,
            l1c.site.acquisition,
            l2comm
                .as_ref()
                .and_then(|(id, c)| Some((c.constant_model.as_deref()?, id.as_str()))),
        )
    };
    let (first_model, site_model, automatic) = match &l2.model {
        Some(aerosol::Request::Named(m)) => (m.clone(), None, false),
        Some(aerosol::Request::Auto) => {
            let s = site()?;
            (s.model.clone(), Some(s), true)
        }
        None => {
            let s = site()?;
            let automatic = s.automatic;
            (s.model.clone(), Some(s), automatic)
        }
    };
    let luts = LutSet::read(&l2.gipp, &first_model)?;
    if let Some((_, c)) = &l2comm {
        let ozone = c.ozone;
        if (ozone - luts.ozone).abs() > 0.005 {
            log::warn!(
                "L2COMM ozone {ozone} cm·atm, the LUTs were made with {}: remake them (scripts/make-luts)",
                luts.ozone
            );
        }
    }
    let bands = coarse::band_luts(&luts, &l2.gipp)?;
    let (dem, dem_epsg) = Dem::read(&l2.dem)?;
    let site = site_of(&l1c);
    if dem_epsg.is_some_and(|e| e != l1c.site.epsg) {
        return Err(VipError::bad_input(
            &l2.dem,
            format!(
                "DEM is EPSG:{}, the L1C is EPSG:{}",
                dem_epsg.unwrap_or(0),
                l1c.site.epsg
            ),
        ));
    }
    crate::level1::check_dem_covers(&dem, &site, &l2.dem)?;

    let step = l1c.site.angle_grid_step_m;
    let sol = DirectionGrid::read(
        &l1c.annex_path(dir, l1c::ANNEX_SOL),
        1,
        l1c.site.ulx,
        l1c.site.uly,
        step,
    )?;
    let vie_path = l1c.annex_path(dir, l1c::ANNEX_VIE);
    let vie: Vec<DirectionGrid> = (0..4)
        .map(|d| DirectionGrid::read(&vie_path, 2 * d + 1, l1c.site.ulx, l1c.site.uly, step))
        .collect::<Result<_>>()?;

    let f = (p.coarse_m / l1c.site.pixel_m).round().max(1.0) as usize;
    let grid = Grid::new(l1c.site.lines, l1c.site.cols, f);
    let fe = (ENV_CELL_M / l1c.site.pixel_m).round().max(1.0) as usize;
    let fine = Grid::new(l1c.site.lines, l1c.site.cols, fe);
    let image = raster::open(&l1c.image_path(dir))?;
    let sol_path = l1c.annex_path(dir, l1c::ANNEX_SOL);
    let geometry = cell_geometry(&site, grid, (&sol, &sol_path), (&vie, &vie_path))?;
    check_angles(&geometry, &bands, &l2.gipp)?;
    let alt_range = altitude_range(&bands);
    let blue_detector = usize::from(BANDS[p.clouds.blue].detector) - 1;
    let cloud_altitude = l1c.read_cloud_altitude(dir)?;
    let rayleigh = clouds::rayleigh_terms(
        &geometry,
        &bands,
        &site,
        grid,
        &dem,
        p.default_wv,
        alt_range,
    );
    let sun: Vec<[f64; 3]> = geometry
        .iter()
        .map(|g| direction(g.sun.0, g.sun.1))
        .collect();
    // held to the end beside every pass's strips: the cells' geometry, Rayleigh terms and sun,
    // the L1's cloud altitudes (each pass takes its own whole-scene buffers out of what is left)
    let held = std::mem::size_of_val(&geometry[..])
        + rayleigh
            .iter()
            .map(|r| std::mem::size_of_val(&r[..]))
            .sum::<usize>()
        + std::mem::size_of_val(&sun[..])
        + cloud_altitude
            .as_ref()
            .map_or(0, |a| std::mem::size_of_val(&a.values[..]));
    let opts = &Options {
        ram_bytes: raster::budget_beside(opts.ram_bytes, held as u64),
        ..opts.clone()
    };
    let masks = clouds::MaskJob {
        l1c: &l1c,
        site: &site,
        dem: &dem,
        grid,
        rayleigh: &rayleigh,
        sun: &sun,
        params: &p.clouds,
        sol: &sol,
        view: &vie[blue_detector],
        altitude: cloud_altitude.as_ref(),
        history: history.read.map(Context::header),
        date: l1c.site.date,
    }
    .run(&image, history.read, opts)?;
    log::info!(
        "{}: {:.1} % cloud, {:.1} % snow, {:.1} % water",
        hdr.display(),
        masks.cloud_percentage,
        masks.snow_percentage,
        masks.water_percentage
    );
    let mut l2a = L2a::from_l1c(&l1c);
    l2a.site.cloud_percentage = Some((masks.cloud_percentage * 10.0).round() / 10.0);
    let gipps_used = |model: &str| {
        let mut g = lut_gipps(&catalogue, model);
        if let Some((id, _)) = &l2comm {
            g.insert(0, ("GIP_L2COMM".into(), id.clone()));
        }
        if let Some(s) = site_model
            .as_ref()
            .filter(|s| s.source.contains("_GIP_L2SITE_"))
        {
            g.insert(0, ("GIP_L2SITE".into(), s.source.clone()));
        }
        g
    };
    l2a.site.gipps_used = gipps_used(&first_model);
    if masks.cloud_percentage > p.clouds.max_cloud_percentage {
        return Err(not_valid(
            hdr,
            l2a,
            masks.cloud_percentage,
            p,
            history,
            opts,
        ));
    }
    // the automatic choice compares the surfaces of both dates where the context has the pixels
    let composite = history.read.filter(|_| automatic).map(|c| Relit {
        context: c,
        light: (&rayleigh, &sun),
    });
    let (cells, env_sums, composite) = first_pass(
        &image,
        &l1c,
        &site,
        (&dem, &masks, composite.as_ref()),
        (grid, fine),
        p,
        opts,
    )?;

    let mut coarse = Coarse {
        grid,
        fine,
        env_cell_m: fe as f64 * l1c.site.pixel_m,
        env_sums: &env_sums,
        cells: &cells,
        geometry: &geometry,
        luts: &bands,
        params: p,
    };
    let wv_max = *bands[p.wv_absorbing].gast.axes[3]
        .values
        .last()
        .unwrap_or(&0.0);
    let first_aot = Field::filled(grid.rows, grid.cols, p.default_aot);
    let wv0 = coarse.water_vapour(&first_aot, wv_max);
    let fixed = |how| aerosol::Choice {
        model: first_model.clone(),
        how,
        scores: vec![],
        windows: 0,
        composite_windows: 0,
    };
    let (choice, chosen) = match (&site_model, automatic) {
        (_, true) => choose_model(&coarse, &wv0.field, &composite, &first_model, &l2.gipp)?,
        (None, false) => (fixed(aerosol::How::Asked), None),
        (Some(s), false) => (fixed(aerosol::How::Site(s.source.clone())), None),
    };
    log::info!("{}: {}", hdr.display(), choice.note());
    l2a.aerosol_note = choice.note();
    let chosen_bands;
    if let Some(set) = &chosen {
        chosen_bands = coarse::band_luts(set, &l2.gipp)?;
        coarse.luts = &chosen_bands;
        l2a.site.gipps_used = gipps_used(&choice.model);
    }
    let nodes = aot_nodes(coarse.luts);
    let aot = coarse.aot(&wv0.field, &nodes, None);
    let wv = coarse.water_vapour(&aot.field, wv_max);
    log_estimate("AOT", &aot);
    log_estimate("water vapour (g/cm²)", &wv);
    let alt_range = altitude_range(coarse.luts);
    let terms = coarse.node_terms(&aot.field, &wv.field, alt_range);
    let centre = (grid.rows / 2) * grid.cols + grid.cols / 2;
    let functions: Vec<_> = (0..NB)
        .map(|b| coarse.env_function(b, aot.field.data[centre], wv.field.data[centre]))
        .collect();
    let env = coarse.environment(&terms, &functions);
    // the sums are in the environment now; the strips of the second pass get their memory
    drop(env_sums);
    l2a.adjacency_and_slope = true;
    let stage = StagedProduct::new(&opts.output, &l2a.global_id(), opts.overwrite)?;
    let out = stage.path().to_path_buf();
    raster::ensure_dir(&l2a.dbl_dir(&out))?;
    let (cx, cy) = site.centre();
    let (sun_zen, sun_az) = sol
        .angles(cx, cy)
        .unwrap_or((l1c.site.sun.zenith[4], l1c.site.sun.azimuth[4]));
    let [ul, _, lr, _] = site.corners();
    let window = (ul.0, ul.1, lr.0, lr.1);
    let centre_view = geometry[geometry.len() / 2].view[p.red];
    let shadows = Occlusion::new(&dem, window, sun_zen, sun_az);
    let hidden = Occlusion::new(&dem, window, centre_view.0, centre_view.1);
    let job = Correction {
        l1c: &l1c,
        site: &site,
        grid,
        fine,
        terms: &terms,
        env: &env,
        geometry: &geometry,
        aot: &aot,
        wv: &wv,
        dem: &dem,
        shadows: &shadows,
        hidden: &hidden,
        masks: &masks,
        rayleigh: history.keeps().then_some(&rayleigh[..]),
        alt_range,
        params: p,
        l2a: &l2a,
    };
    let mut keep = match history.keeps() {
        true => {
            let rule = Rule {
                max_age_days: p.clouds.max_age_days,
                n_stack: p.clouds.n_stack,
            };
            let update = Update::new(
                history.read.map(Context::header),
                &site,
                l1c.site.date,
                history.mode,
                &rule,
            )?;
            let writer =
                ContextWriter::create(history.write, update.header(), &opts.creation_options)?;
            Some(Keep {
                update,
                old: history.read,
                writer,
                cla: cloud_altitude.as_ref(),
            })
        }
        false => None,
    };
    let stats = job.write(&image, &out, keep.as_mut(), opts)?;
    log::info!("{}: {} pixels corrected", l2a.global_id(), stats.valid);
    if stats.negative > 0 {
        log::warn!(
            "{}: {} band values of negative TOA reflectance left as no-data",
            hdr.display(),
            stats.negative
        );
    }
    if stats.clamped > 0 {
        log::warn!(
            "{} pixels outside the LUT altitudes ({:.0}–{:.0} m): terms taken at the nearest, flagged (QLT OTH bit 4)",
            stats.clamped,
            alt_range.0,
            alt_range.1
        );
    }
    for code in [l1c::ANNEX_SOL, l1c::ANNEX_VIE] {
        let (src, dst) = (l1c.annex_path(dir, code), l2a.annex_path(&out, code));
        std::fs::copy(&src, &dst).map_err(|e| VipError::output_io(&dst, &e))?;
    }
    l2a.write_headers(&out)?;
    let hdr_out = if history.issue {
        stage.commit()?
    } else {
        PathBuf::new()
    };
    if let Some(k) = keep {
        let version = k.writer.commit()?;
        log::info!("{}: context updated", version.display());
    }
    Ok(hdr_out)
}

/// The verdict on a date too cloudy to issue (`cloud` % above `Max_Cloud_Percentage`): its
/// L2NOTV header is written into the output folder when the run issues products (not in the
/// backward pass, which only builds the history); the context is not touched. The error is
/// the header's failure to be written, else the one-line verdict naming the L1C, the cloud
/// percentage and the header.
fn not_valid(
    hdr: &Path,
    mut l2a: L2a,
    cloud: f64,
    p: &Params,
    history: &modes::History,
    opts: &Options,
) -> VipError {
    let max = p.clouds.max_cloud_percentage;
    let verdict = |header: String| {
        VipError::Verdict(format!(
            "{}: {cloud:.1} % cloudy, above Max_Cloud_Percentage {max}: no L2A issued{header}, the context is left as it was",
            hdr.display()
        ))
    };
    if !history.issue {
        return verdict(String::new());
    }
    l2a.validity = l2a::Validity::TooCloudy {
        max_cloud_percentage: max,
    };
    match l2a.write_not_valid(&opts.output, opts.overwrite) {
        Ok(notv) => verdict(format!(" (L2NOTV header {})", notv.display())),
        Err(e) => e,
    }
}

/// What the second pass needs to update the site's context.
struct Keep<'a> {
    update: Update,
    old: Option<&'a Context>,
    writer: ContextWriter,
    /// The L1 stereo cloud altitude.
    cla: Option<&'a crate::product::l1c::CloudAltitude>,
}

/// The parameters: `defaults`, overridden by the L2COMM GIPP of `catalogue` applicable to the
/// L1C when there is one; with its logical id and ozone.
fn parameters(
    catalogue: &crate::ee::GippCatalogue,
    l1c: &L1c,
    defaults: &Params,
) -> Result<(Params, Option<(String, l2comm::L2Comm)>)> {
    let mut p = defaults.clone();
    if !catalogue
        .entries()
        .iter()
        .any(|e| e.file_type == "GIP_L2COMM")
    {
        log::info!(
            "{}: no L2COMM, default parameters",
            catalogue.dir().display()
        );
        return Ok((p, None));
    }
    let entry = catalogue.find("GIP_L2COMM", &l1c.site.nick, l1c.site.acquisition, None)?;
    let doc = crate::ee::gipp::read_gipp(&entry.path, "GIP_L2COMM")?;
    let data = doc
        .data_block
        .as_ref()
        .ok_or_else(|| VipError::bad_input(&entry.path, "L2COMM has no Data_Block"))?;
    let c = l2comm::apply(data, &entry.path, &mut p)?;
    Ok((p, Some((entry.id.clone(), c))))
}

/// The AOT nodes the estimation's cost is tabulated at: every [`AOT_STEP`] up to the end of
/// the LUTs' AOT axis.
fn aot_nodes(bands: &[&crate::atmosphere::BandLuts]) -> Vec<f64> {
    let aot_max = *bands[0].path.axes[4].values.last().unwrap_or(&0.0);
    (0..=(aot_max / AOT_STEP + 1e-9) as usize)
        .map(|k| k as f64 * AOT_STEP)
        .collect()
}

/// The altitudes the LUT set `bands` spans, km.
fn altitude_range(bands: &[&crate::atmosphere::BandLuts]) -> (f64, f64) {
    let alt = &bands[0].path.axes[3].values;
    (alt[0], *alt.last().unwrap_or(&0.0))
}

/// The automatic choice of the aerosol model ([`aerosol`]): every LUT set of the folder
/// `gipp` scored on the dark vegetation of `coarse` (water vapour `wv`) and, where the
/// context's `composite` has the pixels (per cell, empty without one), on how its surfaces of
/// both dates agree; the site's model `site` (whose set `coarse` holds) kept when the
/// evidence is weak. Returns the choice and, when it is not the site's model, its set. A set
/// whose angles do not cover the scene is bad input.
fn choose_model(
    coarse: &Coarse,
    wv: &Field,
    composite: &[aerosol::Composite],
    site: &str,
    gipp: &Path,
) -> Result<(aerosol::Choice, Option<LutSet>)> {
    let p = coarse.params;
    let windows = aerosol::windows(coarse, wv, composite);
    let compared = windows.iter().filter(|w| w.composite.is_some()).count();
    let relations = aerosol::relations(p);
    let score = |m: &str, bands: &[&crate::atmosphere::BandLuts]| {
        aerosol::score(
            m,
            bands,
            &windows,
            (&relations, p.red),
            (p.wv_absorbing, p.default_wv),
            &aot_nodes(bands),
        )
    };
    let (mut scores, mut sets) = (vec![], vec![]);
    for m in LutSet::models(gipp)? {
        if m == site {
            scores.push(score(&m, coarse.luts));
            continue;
        }
        let set = LutSet::read(gipp, &m)?;
        let bands = coarse::band_luts(&set, gipp)?;
        check_angles(coarse.geometry, &bands, gipp)?;
        scores.push(score(&m, &bands));
        sets.push((m, set));
    }
    let choice = aerosol::decide(site, scores, (windows.len(), compared));
    let set = sets
        .into_iter()
        .find(|(m, _)| *m == choice.model)
        .map(|(_, s)| s);
    Ok((choice, set))
}

fn log_estimate(what: &str, e: &Estimate) {
    let n = e.field.data.len() as f64;
    let mean = e.field.data.iter().sum::<f64>() / n;
    let filled = e.filled.iter().filter(|f| **f).count();
    log::info!(
        "{what}: mean {mean:.3} over {} cells, {:.0} % filled in",
        e.field.data.len(),
        100.0 * filled as f64 / n
    );
}

/// The LUT GIPPs of aerosol model `model` in `catalogue`, as (nature, logical id) for the
/// header: per kind the file [`LutSet::read`] takes (the last by name).
fn lut_gipps(catalogue: &crate::ee::GippCatalogue, model: &str) -> Vec<(String, String)> {
    let tag = format!("_L_{model}_");
    crate::ee::lut::LutKind::ALL
        .iter()
        .filter_map(|k| {
            let nature = format!("GIP_{}", k.code());
            catalogue
                .entries()
                .iter()
                .filter(|e| e.file_type == nature && e.id.contains(&tag))
                .max_by(|a, b| a.path.cmp(&b.path))
                .map(|e| (nature, e.id.clone()))
        })
        .collect()
}

/// The product grid of an L1C as a site.
fn site_of(l1c: &L1c) -> Site {
    Site {
        name: l1c.site.nick.clone(),
        nick: l1c.site.nick.clone(),
        epsg: l1c.site.epsg,
        ulx: l1c.site.ulx,
        uly: l1c.site.uly,
        pixel_m: l1c.site.pixel_m,
        lines: l1c.site.lines,
        cols: l1c.site.cols,
        acquisition: l1c.site.acquisition.format("%Y-%m-%dT%H:%M:%S").to_string(),
    }
}

/// TOA reflectances of one pixel when every band sees it (non-negative), and whether no band
/// is saturated (the masks say whether it is clear: [`clouds::Masks::clean`]).
fn seen_toa(px: &[i16], i: usize, n: usize, l1c: &L1c) -> (Option<[f64; NB]>, bool) {
    let sat = px[(l1c::SAT_BAND - 1) * n + i];
    let mut t = [0.0; NB];
    for (b, v) in t.iter_mut().enumerate() {
        let d = px[b * n + i];
        if d == l1c.site.nodata || d < 0 {
            return (None, false);
        }
        *v = f64::from(d) * l1c.site.quantification;
    }
    (Some(t), sat == 0)
}

const ALL_BANDS: [usize; 15] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// The 15 bands of the L1C image over the rows of `win`, band after band (decoded in
/// parallel), into `px`: a pass reads its strips into the same buffer (a new one per strip
/// was a third of the L2's page faults).
fn read_strip(
    image: &gdal::Dataset,
    cols: usize,
    win: &raster::Window,
    px: &mut Vec<i16>,
) -> Result<()> {
    px.resize(ALL_BANDS.len() * win.rows * cols, 0);
    let size = (cols, win.rows);
    let path = raster::dataset_path(image);
    raster::read_bands_parallel(&path, &ALL_BANDS, (0, win.row), size, size, px)
}

/// The terrain under the pixels of a strip of `site`, as the passes read it pixel by pixel:
/// the DEM's height and the normal of its gradient ([`Gradient::between`] the strip's rows).
/// Where the grids are read under each column of the site is the same on every row, so it is
/// found once a strip, and under each row once a row ([`StripTerrain::row`]).
struct StripTerrain<'a> {
    dem: &'a Dem,
    gradient: Gradient,
    site: &'a Site,
    /// Per site column, the DEM's column and fraction and the gradient's columns.
    columns: Vec<((usize, f64), Span)>,
}

/// [`StripTerrain`] along one row of its site.
struct TerrainRow<'a> {
    terrain: &'a StripTerrain<'a>,
    dem: (usize, f64),
    gradient: Span,
}

impl<'a> StripTerrain<'a> {
    fn new(dem: &'a Dem, site: &'a Site, win: &raster::Window) -> Self {
        let northing = |r: usize| site.pixel_centre(r as f64, 0.0).1;
        let gradient = Gradient::between(dem, (northing(win.end() - 1), northing(win.row)));
        let columns = (0..site.cols)
            .map(|c| {
                let e = site.pixel_centre(0.0, c as f64).0;
                (dem.column(e), gradient.column(e))
            })
            .collect();
        StripTerrain {
            dem,
            gradient,
            site,
            columns,
        }
    }

    /// Along site row `r` (one of the strip's).
    fn row(&self, r: usize) -> TerrainRow<'_> {
        let n = self.site.pixel_centre(r as f64, 0.0).1;
        TerrainRow {
            terrain: self,
            dem: self.dem.row(n),
            gradient: self.gradient.row(n),
        }
    }
}

impl TerrainRow<'_> {
    /// [`Dem::height`] at the centre of column `c`'s pixel.
    fn height(&self, c: usize) -> f64 {
        let ((x0, fx), (y0, fy)) = (self.terrain.columns[c].0, self.dem);
        self.terrain.dem.interpolate((x0, y0, fx, fy))
    }

    /// [`Gradient::normal`] there.
    fn normal(&self, c: usize) -> [f64; 3] {
        let t = self.terrain;
        t.gradient.normal_at_span(t.columns[c].1, self.gradient)
    }
}

/// The context's composite as the automatic choice of the aerosol model compares it: relit
/// with the day's light on each slope, as the cloud variation test does
/// ([`clouds::slope_light`]).
struct Relit<'a> {
    context: &'a Context,
    /// Rayleigh terms per band and coarse cell, sun direction per cell.
    light: (&'a [Vec<PixelTerms>], &'a [[f64; 3]]),
}

/// First pass: the cell sums, strip by strip, rows in parallel, merged in row order.
/// The first pass over the image: per coarse cell its sums ([`CellSums`]), per environment
/// cell its own ([`EnvSums`]) and, with a `composite` context, per coarse cell the pixels to
/// compare with it ([`aerosol::Composite`]; empty without one).
#[allow(clippy::type_complexity)]
fn first_pass(
    image: &gdal::Dataset,
    l1c: &L1c,
    site: &Site,
    (dem, masks, composite): (&Dem, &clouds::Masks, Option<&Relit>),
    (grid, fine): (Grid, Grid),
    p: &Params,
    opts: &Options,
) -> Result<(Vec<CellSums>, Vec<EnvSums>, Vec<aerosol::Composite>)> {
    let cols = l1c.site.cols;
    let mut cells = vec![CellSums::default(); grid.cells()];
    let mut env = vec![EnvSums::default(); fine.cells()];
    let mut seen = match composite {
        Some(_) => vec![aerosol::Composite::default(); grid.cells()],
        None => vec![],
    };
    let per_pixel = 15 * 2 * 2 + 4 + composite.map_or(0, |_| NB * 2);
    let q = crate::context::REFLECTANCE_QUANTIFICATION;
    // what the rows need of the composite (the context itself is read on this thread)
    let relight = composite.map(|k| k.light);
    let bar = progress(l1c.site.lines as u64, "L2 pass 1");
    // held beside the strips: the DEM, the environment cells
    let held = dem.bytes() + (env.len() * std::mem::size_of::<EnvSums>()) as u64;
    let ram = raster::budget_beside(opts.ram_bytes, held);
    let mut px = Vec::new();
    // per site column, the columns of its coarse and environment cells (the same on every
    // row; per pixel, two integer divisions)
    let columns: Vec<(usize, usize)> = (0..cols).map(|c| (c / grid.f, c / fine.f)).collect();
    for win in Strips::for_budget(l1c.site.lines, cols, ram, per_pixel) {
        let n = win.rows * cols;
        read_strip(image, cols, &win, &mut px)?;
        let masks = masks.rows(win.row..win.end())?;
        let terrain = StripTerrain::new(dem, site, &win);
        let rcr = composite
            .map(|c| c.context.read_rcr(win.row..win.end()))
            .transpose()?;
        type Row = (Vec<CellSums>, Vec<EnvSums>, Vec<aerosol::Composite>);
        let rows: Vec<Row> = (0..win.rows)
            .into_par_iter()
            .map(|i| {
                let r = win.row + i;
                let mut acc = vec![CellSums::default(); grid.cols];
                let mut acc_env = vec![EnvSums::default(); fine.cols];
                let mut acc_seen = vec![aerosol::Composite::default(); seen.len().min(grid.cols)];
                let terrain = terrain.row(r);
                for (c, &(gc, fc)) in columns.iter().enumerate() {
                    let (toa, clean) = seen_toa(&px, i * cols + c, n, l1c);
                    let clean = clean && masks.clean(i * cols + c);
                    let h = terrain.height(c);
                    acc[gc].add(h, toa.as_ref(), clean, p);
                    if let (Some(rcr), Some(t), true) = (&rcr, &toa, clean) {
                        let k = i * cols + c;
                        let was: [i16; NB] = std::array::from_fn(|b| rcr[b * n + k]);
                        if let (Some((rayleigh, sun)), true) = (
                            relight,
                            was.iter().all(|&v| v != crate::context::REFLECTANCE_NODATA),
                        ) {
                            let cell = grid.cell(r, c);
                            let slope = Slope::new(terrain.normal(c), sun[cell]);
                            let light = clouds::pixel_light(rayleigh, cell, &slope);
                            let rcr: [f64; NB] =
                                std::array::from_fn(|b| f64::from(was[b]) * q * light[b]);
                            acc_seen[gc].add(t, &rcr, p.is_dark_vegetation(t));
                        }
                    }
                    // the environment is the ground's: clouds lie above most of the aerosols
                    // and Rayleigh scattering that carry the ground's light into neighbouring
                    // lines of sight
                    if let (Some(t), false) = (&toa, masks.cloud(i * cols + c)) {
                        acc_env[fc].add(h, t, clean, p);
                    }
                }
                (acc, acc_env, acc_seen)
            })
            .collect();
        for (i, (acc, acc_env, acc_seen)) in rows.iter().enumerate() {
            let cr = (win.row + i) / grid.f;
            for (cc, s) in acc.iter().enumerate() {
                cells[cr * grid.cols + cc].merge(s);
            }
            for (cc, s) in acc_seen.iter().enumerate() {
                seen[cr * grid.cols + cc].merge(s);
            }
            let fr = (win.row + i) / fine.f;
            for (cc, s) in acc_env.iter().enumerate() {
                env[fr * fine.cols + cc].merge(s);
            }
        }
        bar.inc(win.rows as u64);
    }
    bar.finish_and_clear();
    Ok((cells, env, seen))
}

/// Sun and per-band view angles at each cell centre.
fn cell_geometry(
    site: &Site,
    grid: Grid,
    (sol, sol_path): (&DirectionGrid, &Path),
    (vie, vie_path): (&[DirectionGrid], &Path),
) -> Result<Vec<CellGeometry>> {
    (0..grid.cells())
        .map(|i| {
            let (r, c) = (i / grid.cols, i % grid.cols);
            let (e, n) = site.pixel_centre(grid.centre(r) - 0.5, grid.centre(c) - 0.5);
            let sun = sol
                .angles(e, n)
                .ok_or_else(|| VipError::bad_input(sol_path, "sun angle grid has no value here"))?;
            let mut view = [(0.0, 0.0); NB];
            for (b, v) in view.iter_mut().enumerate() {
                let d = usize::from(BANDS[b].detector) - 1;
                *v = vie[d].angles(e, n).ok_or_else(|| {
                    VipError::bad_input(vie_path, "view angle grid has no value here")
                })?;
            }
            Ok(CellGeometry { sun, view })
        })
        .collect()
}

/// Fails when a sun or view zenith angle lies beyond the LUTs' angle axes.
fn check_angles(
    geometry: &[CellGeometry],
    bands: &[&crate::atmosphere::BandLuts],
    gipp: &Path,
) -> Result<()> {
    let axes = &bands[0].path.axes;
    let (sza, vza) = (&axes[0].values, &axes[1].values);
    let max = |v: &Vec<f64>| *v.last().unwrap_or(&0.0);
    let sun = geometry.iter().map(|g| g.sun.0).fold(0.0, f64::max);
    let view = geometry
        .iter()
        .flat_map(|g| g.view.iter().map(|v| v.0))
        .fold(0.0, f64::max);
    for (what, got, axis) in [("sun zenith", sun, sza), ("view zenith", view, vza)] {
        if got > max(axis) + 1e-6 {
            return Err(VipError::bad_input(
                gipp,
                format!(
                    "LUTs cover {what} angles up to {:.1}°, the scene reaches {got:.1}°: angles are not extrapolated",
                    max(axis)
                ),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Default)]
struct PassStats {
    valid: usize,
    negative: usize,
    clamped: usize,
}

/// Second pass: everything the per-pixel correction reads.
struct Correction<'a> {
    l1c: &'a L1c,
    site: &'a Site,
    grid: Grid,
    /// The environment grid `env` is on.
    fine: Grid,
    terms: &'a [Vec<NodeTerms>],
    env: &'a [Field],
    geometry: &'a [CellGeometry],
    aot: &'a Estimate,
    wv: &'a Estimate,
    dem: &'a Dem,
    shadows: &'a Occlusion,
    hidden: &'a Occlusion,
    masks: &'a clouds::Masks,
    /// Per band and coarse cell, the terms at zero aerosol, for the context's RCR (`None`: no
    /// context kept, no RCR made).
    rayleigh: Option<&'a [Vec<PixelTerms>]>,
    alt_range: (f64, f64),
    params: &'a Params,
    l2a: &'a L2a,
}

/// One output row (all bands and planes).
struct Row {
    sre: Vec<i16>,
    fre: Vec<i16>,
    atb: Vec<u8>,
    qlt: Vec<u16>,
    msk: Vec<u8>,
    /// Rayleigh-corrected reflectance, int16 ×0.001 (the context's RCR).
    rcr: Vec<i16>,
    negative: usize,
    clamped: usize,
    valid: usize,
}

/// Interpolation of the coarse values along one row: per node column, the values of the
/// row's position between two node rows.
struct RowNodes {
    terms: Vec<Vec<NodeTerms>>,
    /// Per band, per column of the environment grid.
    env: Vec<Vec<f64>>,
    sun: Vec<[f64; 3]>,
    aot: Vec<f64>,
    wv: Vec<f64>,
}

/// Where a site column lies on the grids the correction reads: the same on every row, so
/// found once (per pixel, they took two integer divisions, four floating ones and four
/// floors).
struct Place {
    /// Column of its coarse cell.
    cell: usize,
    /// Node column before it and the weight of the next, on the coarse grid and on the
    /// environment's.
    node: (usize, f64),
    env: (usize, f64),
    /// Its column in the windows of the terrain's shadows and of what it hides.
    shadows: Option<usize>,
    hidden: Option<usize>,
}

/// Where the site's columns lie on the grids the correction reads ([`Place`]), and the runs of
/// columns between the same coarse and environment nodes (the band arithmetic's loops).
struct Places {
    columns: Vec<Place>,
    runs: Vec<std::ops::Range<usize>>,
}

/// What every band's correction of one pixel shares beside its column's [`Place`].
struct Shared {
    /// Altitude within the LUTs' range.
    hc: f64,
    /// The slope's light, its lowest incidence assumed where the slope hides the sun.
    light: SlopeLight,
    cloud: bool,
    /// The slope's light without that lowest incidence (the context's RCR takes it so).
    slope: SlopeLight,
}

/// The runs of consecutive items of `items` with the same `key`.
fn runs_of<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if key(&items[run.start]) == key(item) => run.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

/// Plane `k` (`cols` values each) of every row's `get`, the rows one after the other, into
/// `out` (cleared first).
fn plane<T: Copy>(
    rows: &[Row],
    cols: usize,
    k: usize,
    get: impl Fn(&Row) -> &[T],
    out: &mut Vec<T>,
) {
    out.clear();
    for r in rows {
        out.extend_from_slice(&get(r)[k * cols..(k + 1) * cols]);
    }
}

fn encode_refl(rho: f64, q: f64) -> i16 {
    raster::half_away(rho * (1.0 / q)).clamp(-9999.0, 32767.0) as i16
}

fn encode_u8(v: f64, q: f64) -> u8 {
    raster::half_away(v / q).clamp(1.0, 255.0) as u8
}

impl Correction<'_> {
    /// Updates the context with the strip `win` of the date (`rows` as computed, `masks` the
    /// strip's cloud and surface bits).
    fn keep_strip(
        &self,
        k: &mut Keep,
        win: &raster::Window,
        rows: &[Row],
        masks: &clouds::MaskRows,
    ) -> Result<()> {
        let cols = self.l1c.site.cols;
        let n = win.rows * cols;
        let mut rcr = vec![0i16; NB * n];
        for (i, row) in rows.iter().enumerate() {
            for b in 0..NB {
                rcr[b * n + i * cols..b * n + (i + 1) * cols]
                    .copy_from_slice(&row.rcr[b * cols..(b + 1) * cols]);
            }
        }
        let (cld, msk) = (&masks.cld, &masks.msk);
        let clear: Vec<bool> = cld
            .iter()
            .zip(msk)
            .map(|(&c, &m)| c == 0 && m & bits::MSK_SNW == 0)
            .collect();
        let water: Vec<bool> = msk.iter().map(|&m| m & bits::MSK_WAT != 0).collect();
        let cla: Vec<u16> = (0..n)
            .map(|i| {
                let (r, c) = (win.row + i / cols, i % cols);
                k.cla.map_or(0, |a| {
                    raster::half_away(f64::from(a.at_pixel(r, c))).clamp(0.0, 65534.0) as u16
                })
            })
            .collect();
        let correl = self.params.clouds.correl;
        let obs = Observation {
            rcr: &rcr,
            clear: &clear,
            cld,
            cla: &cla,
            water: &water,
            corr: &rcr[correl * n..(correl + 1) * n],
        };
        let old = match k.old {
            Some(c) => Some(c.read_strip(win.row..win.end())?),
            None => None,
        };
        let new = k.update.apply(old.as_ref(), &obs)?;
        k.writer.write_strip(win.row..win.end(), &new)
    }

    /// Where site column `c` lies on the grids the correction reads.
    fn place(&self, c: usize) -> Place {
        let e = self.site.pixel_centre(0.0, c as f64).0;
        Place {
            cell: self.grid.cell_col(c),
            node: bracket(self.grid.frac(c), self.grid.cols),
            env: bracket(self.fine.frac(c), self.fine.cols),
            shadows: self.shadows.column(e),
            hidden: self.hidden.column(e),
        }
    }

    fn row_nodes(&self, r: usize) -> RowNodes {
        let g = self.grid;
        let (r0, w) = bracket(g.frac(r), g.rows);
        let r1 = (r0 + 1).min(g.rows - 1);
        let lerp = |a: f64, b: f64| a + w * (b - a);
        let terms = (0..NB)
            .map(|b| {
                (0..g.cols)
                    .map(|c| {
                        let (t0, t1) = (
                            &self.terms[b][r0 * g.cols + c],
                            &self.terms[b][r1 * g.cols + c],
                        );
                        std::array::from_fn(|k| lerp(t0[k], t1[k]))
                    })
                    .collect()
            })
            .collect();
        let field_row = |f: &Field| -> Vec<f64> {
            (0..g.cols)
                .map(|c| lerp(f.at(r0, c), f.at(r1, c)))
                .collect()
        };
        let fine = self.fine;
        let (f0, fw) = bracket(fine.frac(r), fine.rows);
        let f1 = (f0 + 1).min(fine.rows - 1);
        let env = self
            .env
            .iter()
            .map(|f| {
                (0..fine.cols)
                    .map(|c| f.at(f0, c) + fw * (f.at(f1, c) - f.at(f0, c)))
                    .collect()
            })
            .collect();
        let sun = (0..g.cols)
            .map(|c| {
                let d0 = self.geometry[r0 * g.cols + c].sun;
                let d1 = self.geometry[r1 * g.cols + c].sun;
                let (a, b) = (direction(d0.0, d0.1), direction(d1.0, d1.1));
                std::array::from_fn(|k| lerp(a[k], b[k]))
            })
            .collect();
        RowNodes {
            terms,
            env,
            sun,
            aot: field_row(&self.aot.field),
            wv: field_row(&self.wv.field),
        }
    }

    fn row(
        &self,
        r: usize,
        (px, masks, terrain, places): (&[i16], &clouds::MaskRows, &StripTerrain, &Places),
        i: usize,
        n: usize,
    ) -> Row {
        let l1c = self.l1c;
        let p = self.params;
        let g = self.grid;
        let cols = l1c.site.cols;
        let nodes = self.row_nodes(r);
        let q = self.l2a.site.quantification;
        let nodata = self.l2a.site.nodata;
        let mut out = Row {
            sre: vec![nodata; NB * cols],
            fre: vec![nodata; NB * cols],
            atb: vec![0; 2 * cols],
            qlt: vec![0; 3 * cols],
            msk: vec![0; cols],
            rcr: match self.rayleigh {
                Some(_) => vec![crate::context::REFLECTANCE_NODATA; NB * cols],
                None => vec![],
            },
            negative: 0,
            clamped: 0,
            valid: 0,
        };
        // what the bands share at each pixel: where it lies between the coarse nodes and the
        // environment's, its altitude within the LUTs', its slope's light (the lowest sun
        // incidence assumed where the slope hides the sun), whether a cloud covers it; then
        // band by band over runs of pixels between the same nodes, without a branch
        let mut shared = Vec::with_capacity(cols);
        let terrain = terrain.row(r);
        let northing = self.site.pixel_centre(r as f64, 0.0).1;
        let (shadows, hidden) = (self.shadows.row(northing), self.hidden.row(northing));
        let cell_row = g.cell_row(r) * g.cols;
        for (c, place) in places.columns.iter().enumerate() {
            let k = i * cols + c;
            let (c0, w) = place.node;
            let h = terrain.height(c);
            let hc = h.clamp(self.alt_range.0, self.alt_range.1);
            let mut oth = 0u16;
            if hc != h {
                oth |= bits::OTH_CLAMP;
                out.clamped += 1;
            }
            let cell = cell_row + place.cell;
            if self.aot.filled[cell] {
                oth |= bits::OTH_IAO;
            }
            if self.wv.filled[cell] {
                oth |= bits::OTH_IWC;
            }
            let c1 = (c0 + 1).min(g.cols - 1);
            let lerp = |a: f64, b: f64| a + w * (b - a);
            let s = nodes.sun[c0];
            let s1 = nodes.sun[c1];
            let sun: [f64; 3] = std::array::from_fn(|k| lerp(s[k], s1[k]));
            let norm = (sun[0] * sun[0] + sun[1] * sun[1] + sun[2] * sun[2]).sqrt();
            let sun = sun.map(|v| v / norm);
            let slope = Slope::new(terrain.normal(c), sun);
            let mut msk = 0u8;
            if slope.cos_i < p.min_cos_i {
                msk |= bits::MSK_STL;
            }
            if slope.cos_i / slope.cos_sun < p.min_cos_ratio {
                msk |= bits::MSK_TGS;
            }
            if self.shadows.at_place(shadows, place.shadows) {
                msk |= bits::MSK_SHD;
            }
            if self.hidden.at_place(hidden, place.hidden) {
                msk |= bits::MSK_HID;
            }
            let lit = Slope {
                cos_i: slope.cos_i.max(p.min_cos_i),
                ..slope
            };
            out.qlt[2 * cols + c] = oth;
            out.msk[c] = msk | masks.msk[k];
            shared.push(Shared {
                hc,
                light: SlopeLight::from(&lit),
                cloud: masks.cloud(k),
                slope: SlopeLight::from(&slope),
            });
        }
        let mut seen = vec![false; cols];
        let no_signal = l1c.site.nodata;
        for b in 0..NB {
            let d = &px[b * n + i * cols..][..cols];
            for run in &places.runs {
                let first = &places.columns[run.start];
                let (c0, e0) = (first.node.0, first.env.0);
                let (t0, t1) = (
                    &nodes.terms[b][c0],
                    &nodes.terms[b][(c0 + 1).min(g.cols - 1)],
                );
                let env = &nodes.env[b];
                let (v0, v1) = (env[e0], env[(e0 + 1).min(self.fine.cols - 1)]);
                let (sre, fre) = (
                    &mut out.sre[b * cols..][run.clone()],
                    &mut out.fre[b * cols..][run.clone()],
                );
                let (d, px_shared, px_places, seen) = (
                    &d[run.clone()],
                    &shared[run.clone()],
                    &places.columns[run.clone()],
                    &mut seen[run.clone()],
                );
                for j in 0..d.len() {
                    let (x, (w, ew)) = (&px_shared[j], (px_places[j].node.1, px_places[j].env.1));
                    let lerp = |a: f64, b: f64| a + w * (b - a);
                    let t: NodeTerms = std::array::from_fn(|k| lerp(t0[k], t1[k]));
                    let t = at_altitude(&t, x.hc);
                    let env = v0 + ew * (v1 - v0);
                    let toa = f64::from(d[j]) * l1c.site.quantification;
                    let (s, f) = t.surface_and_flat(toa, env, &x.light, x.cloud);
                    let ok = d[j] != no_signal && d[j] >= 0;
                    sre[j] = if ok { encode_refl(s, q) } else { nodata };
                    fre[j] = if ok { encode_refl(f, q) } else { nodata };
                    seen[j] |= ok;
                }
            }
            out.negative += d.iter().filter(|&&v| v != no_signal && v < 0).count();
            // the context's Rayleigh-corrected reflectance, relit as flat ground
            if let Some(rayleigh) = self.rayleigh {
                for (c, (&v, x)) in d.iter().zip(&shared).enumerate() {
                    if v != no_signal && v >= 0 {
                        let toa = f64::from(v) * l1c.site.quantification;
                        let r = &rayleigh[b][cell_row + places.columns[c].cell];
                        let flat = r.uniform(toa) / clouds::slope_light(r, &x.slope);
                        out.rcr[b * cols + c] =
                            encode_refl(flat, crate::context::REFLECTANCE_QUANTIFICATION);
                    }
                }
            }
        }
        for (c, (&seen, place)) in seen.iter().zip(&places.columns).enumerate() {
            let k = i * cols + c;
            if seen {
                out.valid += 1;
                let (c0, w) = place.node;
                let c1 = (c0 + 1).min(g.cols - 1);
                let lerp = |a: f64, b: f64| a + w * (b - a);
                out.atb[c] = encode_u8(
                    lerp(nodes.wv[c0], nodes.wv[c1]),
                    self.l2a.vap_quantification,
                );
                out.atb[cols + c] = encode_u8(
                    lerp(nodes.aot[c0], nodes.aot[c1]),
                    self.l2a.aot_quantification,
                );
            } else {
                out.qlt[2 * cols + c] |= bits::OTH_EDG;
            }
            out.qlt[c] = px[(l1c::SAT_BAND - 1) * n + k] as u16;
            out.qlt[cols + c] = px[(l1c::PIX_BAND - 1) * n + k] as u16;
        }
        out
    }

    fn write(
        &self,
        image: &gdal::Dataset,
        out: &Path,
        mut keep: Option<&mut Keep>,
        opts: &Options,
    ) -> Result<PassStats> {
        let l1c = self.l1c;
        let l2a = self.l2a;
        let (cols, lines) = (l1c.site.cols, l1c.site.lines);
        let spec = |bands: usize,
                    t: SampleType,
                    nodata: Option<f64>,
                    names: Vec<String>|
         -> Result<RasterSpec> {
            let mut s = RasterSpec::new(cols, lines, bands, t);
            s.geo_transform = self.site.geo_transform();
            s.srs_wkt = raster::srs_wkt_from_epsg(l1c.site.epsg)?;
            s.nodata = nodata;
            s.band_descriptions = names;
            Ok(s)
        };
        let codes: Vec<String> = BANDS.iter().map(|b| b.code.to_string()).collect();
        let nd = Some(f64::from(l2a.site.nodata));
        let targets = [
            (
                l2a.image_path(out, l2a::IMAGE_SRE),
                spec(NB, SampleType::I16, nd, codes.clone())?,
            ),
            (
                l2a.image_path(out, l2a::IMAGE_FRE),
                spec(NB, SampleType::I16, nd, codes)?,
            ),
            (
                l2a.annex_path(out, l2a::ANNEX_ATB),
                spec(
                    2,
                    SampleType::U8,
                    Some(0.0),
                    vec!["VAP".into(), "AOT".into()],
                )?,
            ),
            (
                l2a.annex_path(out, l2a::ANNEX_QLT),
                spec(
                    3,
                    SampleType::U16,
                    None,
                    vec!["SAT".into(), "PIX".into(), "OTH".into()],
                )?,
            ),
            (
                l2a.annex_path(out, l2a::ANNEX_MSK),
                spec(1, SampleType::U8, None, vec!["MSK".into()])?,
            ),
            (
                l2a.annex_path(out, l2a::ANNEX_CLD),
                spec(1, SampleType::U8, None, vec!["CLD".into()])?,
            ),
        ];
        let mut ds = targets
            .iter()
            .map(|(path, s)| raster::create_geotiff(path, s, &opts.creation_options))
            .collect::<Result<Vec<_>>>()?;
        let mut stats = PassStats::default();
        let bar = progress(lines as u64, "L2 pass 2");
        // per pixel: 15 int16 read, 24 int16 + 2 + 6 + 2 bytes written, row buffers
        // held beside the strips: the DEM, the environment field
        let held = self.dem.bytes()
            + self
                .env
                .iter()
                .map(|f| std::mem::size_of_val(&f.data[..]) as u64)
                .sum::<u64>();
        let ram = raster::budget_beside(opts.ram_bytes, held);
        // (and the strip's CLD and MSK read back, twice while they are split)
        // the strip read and each plane written go through the same buffers strip after strip
        let (mut px, mut i16s, mut u16s, mut u8s) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let columns: Vec<Place> = (0..cols).map(|c| self.place(c)).collect();
        let runs = runs_of(&columns, |p| (p.node.0, p.env.0));
        let places = Places { columns, runs };
        for win in Strips::for_budget(lines, cols, ram, 2 * (15 * 2 + 24 * 2 + 10) + 4) {
            let n = win.rows * cols;
            read_strip(image, cols, &win, &mut px)?;
            let masks = self.masks.rows(win.row..win.end())?;
            let terrain = StripTerrain::new(self.dem, self.site, &win);
            let rows: Vec<Row> = (0..win.rows)
                .into_par_iter()
                .map(|i| self.row(win.row + i, (&px, &masks, &terrain, &places), i, n))
                .collect();
            let at = (0, win.row);
            let size = (cols, win.rows);
            for b in 0..NB {
                plane(&rows, cols, b, |r| &r.sre, &mut i16s);
                raster::write_window(&mut ds[0], b + 1, at, size, &i16s)?;
                plane(&rows, cols, b, |r| &r.fre, &mut i16s);
                raster::write_window(&mut ds[1], b + 1, at, size, &i16s)?;
            }
            for k in 0..2 {
                plane(&rows, cols, k, |r| &r.atb, &mut u8s);
                raster::write_window(&mut ds[2], k + 1, at, size, &u8s)?;
            }
            for k in 0..3 {
                plane(&rows, cols, k, |r| &r.qlt, &mut u16s);
                raster::write_window(&mut ds[3], k + 1, at, size, &u16s)?;
            }
            plane(&rows, cols, 0, |r| &r.msk, &mut u8s);
            raster::write_window(&mut ds[4], 1, at, size, &u8s)?;
            // CLD is the mask pass's, as read back for the strip
            raster::write_window(&mut ds[5], 1, at, size, &masks.cld)?;
            // flushed once a tile row is whole (a part-written tile flushed would be
            // re-encoded when the next strip completes it)
            if win.end().is_multiple_of(raster::TILE_ROWS) || win.end() == lines {
                for d in ds.iter_mut() {
                    raster::flush(d)?;
                }
            }
            if let Some(k) = keep.as_deref_mut() {
                self.keep_strip(k, &win, &rows, &masks)?;
            }
            for r in &rows {
                stats.valid += r.valid;
                stats.negative += r.negative;
                stats.clamped += r.clamped;
            }
            bar.inc(win.rows as u64);
        }
        bar.finish_and_clear();
        for (d, (path, _)) in ds.into_iter().zip(&targets) {
            raster::finish(d, path)?;
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The terrain read through a strip's columns and a row's rows is the DEM's height and
    /// normal at each pixel centre, bit for bit, the DEM's edges included.
    #[test]
    fn strip_terrain_reads_the_dem_at_the_pixel_centres() {
        let (w, h) = (23, 19);
        let dem = Dem {
            ulx: 1000.0,
            uly: 5000.0,
            pixel: 20.0,
            width: w,
            height: h,
            data: (0..w * h)
                .map(|k| ((k * 7919) % 211) as f32 + 0.7 * (k % w) as f32)
                .collect(),
        };
        // 5 m pixels from inside the DEM to beyond its east and south edges
        let site = Site {
            name: "T".into(),
            nick: "T".into(),
            epsg: 32631,
            ulx: 1013.0,
            uly: 4987.0,
            pixel_m: 5.0,
            lines: 80,
            cols: 95,
            acquisition: String::new(),
        };
        for win in Strips::new(site.lines, 32) {
            let terrain = StripTerrain::new(&dem, &site, &win);
            let gradient = Gradient::of(&dem);
            for r in win.row..win.end() {
                let row = terrain.row(r);
                for c in 0..site.cols {
                    let (e, n) = site.pixel_centre(r as f64, c as f64);
                    assert_eq!(row.height(c), dem.height(e, n), "({r}, {c})");
                    assert_eq!(row.normal(c), gradient.normal(e, n), "({r}, {c})");
                }
            }
        }
    }
}
