//! `vip-l1`: raw L1A (sensor geometry, counts) to L1C (TOA reflectance on the site grid).
//!
//! For each strip of output rows and each band:
//! 1. the inverse location grid of the band ([`NodeGrid::inverse`]) gives, for every output pixel and
//!    its DEM height, the raw (line, col) that sees it — each band with its own viewing
//!    direction, so bands are co-registered over relief;
//! 2. the raw lines that strip needs are read and calibrated to radiance in sensor geometry
//!    (dark current, equalisation, defective detectors filled and flagged, absolute gain;
//!    saturated counts flagged), see [`crate::radiometry`];
//! 3. radiance is resampled (nearest, bilinear or cubic) and turned into TOA reflectance with
//!    the sun zenith of that ground point at the acquisition time of that band's line and the
//!    Earth–Sun distance of the REFLEC GIPP ([`EarthSun`]);
//! 4. reflectance × 1000 (int16), SAT and PIX bit masks (bit n−1 = band Bn, set when any
//!    sample the kernel used was saturated or defective) are written; pixels no band image
//!    covers are −10000 (the edge mask of the ICD).
//! 5. the stereo reference, secondary and reflectance bands of the strip are handed to the
//!    B05/B06 correlation ([`crate::cloud::stereo`], CLOUDD GIPP) and the quicklook bands to
//!    the quicklook ([`quicklook`], CKQLTL GIPP); once every strip is written, the cloud mask
//!    (band CLD) is written strip by strip (the image's tiles are band-interleaved), then the
//!    CLA annex, the quicklook and the header's cloud figures.
//!
//! Memory: strips sized by `--ram`; one band's raw lines for one strip at a time; the DEM
//! (small) is held whole; the stereo holds its three bands over a strip plus the largest
//! disparity, and its per-cell results (a sixteenth of the pixels). Parallel over output rows; every pixel is computed the same way
//! whatever the thread count, so outputs are byte-identical for any `--threads`.

mod earth_sun;
mod inputs;
pub mod quicklook;
mod refinement;

use std::path::{Path, PathBuf};

use chrono::Timelike;
use rayon::prelude::*;

pub use earth_sun::EarthSun;
pub use inputs::Inputs;

use crate::cli::{progress, Options};
use crate::cloud::stereo::{Stereo, StereoResult, Views, CLD_CLOUD};
use crate::error::{Result, VipError};
use crate::geometry::dem::Dem;
use crate::geometry::grid::Site;
use crate::geometry::lonlat::{LocalLonLat, MapToLonLat};
use crate::geometry::ortho::NodeGrid;
use crate::geometry::resample::{CleanBlocks, Resampling, Spot, Window};
use crate::geometry::sensor::BandModel;
use crate::geometry::sun::{Place, SunClock, SunEphemeris};
use crate::mission::venus;
use crate::product::l1c::{
    self, angles_to_grid, grid_to_angles, ClaGrid, CloudStatistics, L1c, ProcessingFlags,
    QualityIndex, QuicklookInfo,
};
use crate::product::{AngleSet, SiteHeader};
use crate::radiometry::{self, DEFECTIVE, SATURATED};
use crate::raster::{self, RasterSpec, SampleType, StagedProduct, Strips};
use quicklook::QuicklookBuilder;

/// Reflectance of one count of the L1C (`Reflectance_Quantification_Value`).
pub const QUANTIFICATION: f64 = 0.001;
/// Value of reflectance pixels no band image covers.
pub const NODATA: i16 = -10000;
/// Spacing of the SOL/VIE angle grid nodes, metres.
pub const ANGLE_GRID_STEP_M: f64 = 5000.0;

/// What vip-l1 is asked beyond the shared options.
#[derive(Debug, Clone, Default)]
pub struct L1Options {
    pub resampling: Resampling,
    /// Output grid (`site.json`); by default the footprint of the product on the 5 m lattice
    /// of the DEM's projection.
    pub site: Option<PathBuf>,
    /// Folder of the auxiliary data files (GPSDTA, AOCDTA, EORDTA); by default the L1A's.
    pub aux: Option<PathBuf>,
}

/// Runs vip-l1 on each input; returns the L1C header paths.
pub fn run(
    inputs: &[PathBuf],
    gipp: &Path,
    dem: &Path,
    l1: &L1Options,
    opts: &Options,
) -> Result<Vec<PathBuf>> {
    inputs
        .iter()
        .map(|p| process(p, gipp, dem, l1, opts))
        .collect()
}

/// One L1A → L1C.
pub fn process(
    l1a: &Path,
    gipp: &Path,
    dem: &Path,
    l1: &L1Options,
    opts: &Options,
) -> Result<PathBuf> {
    let mut inp = Inputs::load(l1a, gipp, dem, l1.aux.as_deref())?;
    for (ty, id) in &inp.auxiliary_used {
        log::info!("{}: {ty} {id}", inp.product.global_id());
    }
    let to_lonlat = MapToLonLat::new(inp.epsg)?;
    let mut models = inp.models(&to_lonlat)?;
    let refined = refinement::refine(&mut inp, &models)?;
    if refined.is_some() {
        models = models
            .par_iter()
            .map(|m| m.reflown(&inp.flight))
            .collect::<Result<_>>()?;
    }
    let site = match &l1.site {
        Some(path) => {
            let site = Site::read(path)?;
            if site.epsg != inp.epsg {
                return Err(VipError::bad_input(
                    path,
                    format!(
                        "site grid is EPSG:{}, the DEM is EPSG:{}",
                        site.epsg, inp.epsg
                    ),
                ));
            }
            site
        }
        None => footprint_grid(&inp, &models),
    };
    check_dem_covers(&inp.dem, &site, &inp.dem_path)?;
    let (h_lo, h_hi) = height_range(&inp.dem, &site);
    let centre = site.centre();
    let extent = (site.lines.max(site.cols)) as f64 * site.pixel_m;
    let local = to_lonlat.local(centre, extent)?;
    let mut l1c = header_model(&inp, &site, &models, &to_lonlat, refined.as_ref())?;
    let stage = StagedProduct::new(&opts.output, &l1c.global_id(), opts.overwrite)?;
    let dir = stage.path().to_path_buf();
    raster::ensure_dir(&l1c.dbl_dir(&dir))?;
    let ctx = Context {
        inp: &inp,
        models: &models,
        heights: (h_lo - 1.0, h_hi + 1.0),
        site: &site,
        local: &local,
    };
    let out = ctx.write_image(&l1c.image_path(&dir), l1.resampling, opts)?;
    let stats = &out.stats;
    log::info!(
        "{}: {:.1} % of the grid seen by every band, {} saturated and {} defective samples",
        l1c.global_id(),
        100.0 * stats.valid as f64 / (site.lines * site.cols) as f64,
        stats.saturated,
        stats.defective
    );
    ctx.write_angle_grids(&l1c, &dir, opts)?;
    ctx.write_clouds(&mut l1c, &dir, &out, opts)?;
    l1c.site.dem_stats = Some(dem_statistics(&inp.dem, &site));
    l1c.write_headers(&dir)?;
    let hdr = stage.commit()?;
    // The RPC VRTs refer to the raw images by relative paths, so they are written where they
    // stay; a product whose VRTs cannot be written is removed, not left half done.
    let rpc_dir = l1c.dbl_dir(&opts.output).join(RPC_FOLDER);
    if let Err(e) = write_rpcs(&inp, &models, (h_lo, h_hi), &rpc_dir) {
        let _ = std::fs::remove_file(&hdr);
        let _ = std::fs::remove_dir_all(l1c.dbl_dir(&opts.output));
        return Err(e);
    }
    Ok(hdr)
}

/// Folder of the L1C that holds one RPC VRT per raw band.
pub const RPC_FOLDER: &str = "RPC";

/// Fits an RPC to each band's sensor model and writes `<raw band>_RPC.vrt`: the raw image with
/// its RPC, which GDAL orthorectifies (`gdalwarp -rpc -to RPC_DEM=...`). The bands are fitted
/// in parallel, each with its own PROJ transformation (one is not shared across threads).
fn write_rpcs(inp: &Inputs, models: &[BandModel], heights: (f64, f64), dir: &Path) -> Result<()> {
    raster::ensure_dir(dir)?;
    let fits = models
        .par_iter()
        .zip(&inp.product.bands)
        .map(|(model, band)| {
            let to_lonlat = MapToLonLat::new(inp.epsg)?;
            crate::geometry::rpc::fit_band_rpc(model, band.lines, band.cols, &to_lonlat, heights)
        })
        .collect::<Result<Vec<_>>>()?;
    for (b, ((rpc, stats), band)) in fits.iter().zip(&inp.product.bands).enumerate() {
        log::debug!(
            "{} RPC: {} samples, check RMS {:.2e} px, max {:.2e} px",
            band.code,
            stats.samples,
            stats.check_rms,
            stats.check_max
        );
        let image = inp.band_image(b);
        let stem = image.file_name().unwrap_or_default().to_string_lossy();
        let stem = stem.trim_end_matches(".DBL.TIF");
        raster::write_rpc_vrt(&image, rpc, &dir.join(format!("{stem}_RPC.vrt")), true)?;
    }
    Ok(())
}

/// The output pixels of a strip as every band sees them: terrain height and place (for the
/// sun), row-major.
struct Points<'a> {
    heights: &'a [f32],
    places: &'a [Place],
}

/// The inputs and geometry one run shares between its steps.
struct Context<'a> {
    inp: &'a Inputs,
    models: &'a [BandModel],
    /// The site's lowest and highest terrain, with a metre of margin: the inverse grids'
    /// levels.
    heights: (f64, f64),
    site: &'a Site,
    local: &'a LocalLonLat,
}

#[derive(Default)]
struct ImageStats {
    valid: usize,
    saturated: usize,
    defective: usize,
    /// Pixels of the L1 cloud mask.
    cloudy: usize,
}

/// What writing the image gives beside it.
struct ImageOutputs {
    stats: ImageStats,
    clouds: StereoResult,
    quicklook: Option<QuicklookBuilder>,
}

impl Context<'_> {
    fn write_image(&self, path: &Path, kind: Resampling, opts: &Options) -> Result<ImageOutputs> {
        let site = self.site;
        let (cols, lines) = (site.cols, site.lines);
        let mut spec = RasterSpec::new(cols, lines, l1c::IMAGE_BANDS.len(), SampleType::I16);
        spec.geo_transform = site.geo_transform();
        spec.srs_wkt = raster::srs_wkt_from_epsg(site.epsg)?;
        spec.nodata = Some(f64::from(NODATA));
        spec.band_descriptions = l1c::IMAGE_BANDS.iter().map(|b| b.to_string()).collect();
        // Band-interleaved tiles: the cloud mask is written after the other bands.
        let mut co = vec![("INTERLEAVE".to_string(), "BAND".to_string())];
        co.extend(opts.creation_options.iter().cloned());
        let mut ds = raster::create_geotiff(path, &spec, &co)?;
        let p = &self.inp.stereo;
        let px = site.pixel_m;
        let to_px = |(dx, dy): (f64, f64)| (dx / px, -dy / px);
        let views = |line: f64, col: f64| {
            let (e, n) = site.pixel_centre(line, col);
            Views {
                reference: to_px(self.view_at(p.reference, e, n)),
                secondary: to_px(self.view_at(p.secondary, e, n)),
                detectors: std::array::from_fn(|k| {
                    to_px(self.view_at(band_index(l1c::VIE_BANDS[k]), e, n))
                }),
            }
        };
        let dem = |line: f64, col: f64| {
            let (e, n) = site.pixel_centre(line, col);
            self.inp.dem.height(e, n)
        };
        let mut stereo = Stereo::new(p.clone(), lines, cols, &views);
        // Per output pixel: 15 int16 outputs and 12 flags, height, place; plus the raw windows
        // of the bands in work; the stereo's three bands (two f32, the secondary f64) and the
        // copies handed to it. Beside the strips, for the whole scene: the stereo's grid and
        // the DEM.
        let held = stereo.held_bytes() + self.inp.dem.bytes();
        let strips = Strips::for_budget(
            lines,
            cols,
            raster::budget_beside(opts.ram_bytes, held),
            15 * 2 + 12 + 4 + 32 + 4 * 7 + (4 + 8 + 4) + 6 * 2,
        );
        let (ckqltl, ckqltl_path) = &self.inp.quicklook;
        let mut ql = QuicklookBuilder::new(ckqltl, ckqltl_path, lines, cols)?;
        let bar = progress(lines as u64, "L1C rows");
        let mut stats = ImageStats::default();
        // Per band: was any raw line read, and did one hold a non-zero count?
        let mut read_any = [false; 12];
        let mut signal = [false; 12];
        // each strip's heights and places, in the same buffers (fresh ones were a hundred MB of
        // new pages a strip)
        let (mut heights, mut places) = (Vec::new(), Vec::new());
        for win in strips.clone() {
            let rows = win.row..win.end();
            let n = win.rows * cols;
            // filled in place: collected, the two vectors grew by copies of themselves
            heights.resize(n, 0f32);
            places.resize(n, Place::new(0.0, 0.0));
            heights
                .par_chunks_mut(cols)
                .zip(places.par_chunks_mut(cols))
                .zip(rows.clone())
                .for_each(|((heights, places), r)| {
                    for (c, (h, p)) in heights.iter_mut().zip(places).enumerate() {
                        let (e, nn) = site.pixel_centre(r as f64, c as f64);
                        let (lon, lat) = self.local.lonlat(e, nn);
                        (*h, *p) = (self.inp.dem.height(e, nn) as f32, Place::new(lat, lon));
                    }
                });
            let points = Points {
                heights: &heights,
                places: &places,
            };
            let mut sat = vec![0i16; n];
            let mut pix = vec![0i16; n];
            let mut kept: Vec<Option<Vec<i16>>> = vec![None; venus::BANDS.len()];
            let wanted = |b: usize| {
                b == p.reference
                    || b == p.secondary
                    || b == p.reflectance
                    || ql.as_ref().is_some_and(|q| q.bands.contains(&b))
            };
            // as many bands at once as there are threads (each band's pixels in parallel too):
            // reading and calibrating a band's raw lines is serial work
            let bands: Vec<usize> = (0..venus::BANDS.len()).collect();
            let mut strips_of_bands = Vec::with_capacity(bands.len());
            for some in bands.chunks(rayon::current_num_threads().max(1)) {
                let done: Vec<_> = some
                    .par_iter()
                    .map(|&b| self.band_strip(b, rows.clone(), &points, kind))
                    .collect();
                strips_of_bands.extend(done);
            }
            let strips_of_bands = strips_of_bands.into_iter().collect::<Result<Vec<_>>>()?;
            for (b, (_, _, raw)) in strips_of_bands.iter().enumerate() {
                read_any[b] |= raw.is_some();
                signal[b] |= *raw == Some(true);
            }
            // the SAT and PIX bits of every band and the pixels all of them see, row by row
            let counts = sat
                .par_chunks_mut(cols)
                .zip(pix.par_chunks_mut(cols))
                .enumerate()
                .map(|(r, (sat, pix))| {
                    let span = r * cols..(r + 1) * cols;
                    let mut seen_by_all = vec![true; cols];
                    let (mut saturated, mut defective) = (0, 0);
                    for (b, (refl, flags, _)) in strips_of_bands.iter().enumerate() {
                        let (refl, flags) = (&refl[span.clone()], &flags[span.clone()]);
                        for (i, (&v, &f)) in refl.iter().zip(flags).enumerate() {
                            seen_by_all[i] &= v != NODATA;
                            if f & SATURATED != 0 {
                                sat[i] |= 1 << b;
                                saturated += 1;
                            }
                            if f & DEFECTIVE != 0 {
                                pix[i] |= 1 << b;
                                defective += 1;
                            }
                        }
                    }
                    let valid = seen_by_all.iter().filter(|&&v| v).count();
                    (saturated, defective, valid)
                })
                .reduce(|| (0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
            stats.saturated += counts.0;
            stats.defective += counts.1;
            stats.valid += counts.2;
            for (b, (refl, _, _)) in strips_of_bands.into_iter().enumerate() {
                raster::write_window(&mut ds, b + 1, (0, win.row), (cols, win.rows), &refl)?;
                if wanted(b) {
                    kept[b] = Some(refl);
                }
            }
            for (band, data) in [(l1c::SAT_BAND, &sat), (l1c::PIX_BAND, &pix)] {
                raster::write_window(&mut ds, band, (0, win.row), (cols, win.rows), data)?;
            }
            let band = |b: usize| kept[b].as_deref().unwrap_or_default();
            stereo.push(
                win.row,
                band(p.reference),
                band(p.secondary),
                band(p.reflectance),
            );
            if let Some(q) = ql.as_mut() {
                for k in 0..3 {
                    let b = q.bands[k];
                    q.add(k, win.row, cols, band(b), NODATA, QUANTIFICATION);
                }
            }
            bar.inc(win.rows as u64);
        }
        bar.finish_and_clear();
        // the strips' buffers go before the stereo's classification, which holds its own
        // for the whole grid (on a long scene, that is vip-l1's peak)
        drop((heights, places));
        if let Some(b) = (0..12).find(|&b| read_any[b] && !signal[b]) {
            return Err(VipError::bad_input(
                self.inp.band_image(b),
                "every count is zero: the band holds no signal",
            ));
        }
        let clouds = stereo.finish(&dem);
        for win in strips {
            let cld = clouds.mask_rows(win.row..win.end());
            stats.cloudy += cld.iter().filter(|&&v| v == CLD_CLOUD).count();
            raster::write_window(&mut ds, l1c::CLD_BAND, (0, win.row), (cols, win.rows), &cld)?;
        }
        raster::finish(ds, path)?;
        Ok(ImageOutputs {
            stats,
            clouds,
            quicklook: ql,
        })
    }

    /// Reflectance counts and flags of band `b` over output rows `rows`, and whether the raw
    /// lines read (if any) held a non-zero count.
    fn band_strip(
        &self,
        b: usize,
        rows: std::ops::Range<usize>,
        points: &Points,
        kind: Resampling,
    ) -> Result<(Vec<i16>, Vec<u8>, Option<bool>)> {
        let cols = self.site.cols;
        // the inverse grid of the strip's rows only: the whole scene's would hold 24 values
        // per 16 × 16 pixels for each band (120 MB on a 4600 × 17692 scene)
        let grid = NodeGrid::inverse(&self.models[b], self.site, self.heights, rows.clone());
        let band = &self.inp.product.bands[b];
        let margin = kind.margin() as f64 + 1.0;
        // the raw lines within the kernel's reach of positions from `lo` to `hi`
        let lines = |(lo, hi): (f64, f64)| {
            (lo - margin).floor().max(0.0) as usize
                ..((hi + margin).ceil().max(0.0) as usize + 1).min(band.lines)
        };
        let all = lines(grid.line_range(rows.clone()));
        let (r0, r1) = (all.start, all.end);
        let n = rows.len() * cols;
        if r0 >= r1 {
            return Ok((vec![NODATA; n], vec![0; n], None));
        }
        // the image turns across the map, so each run of raw columns needs fewer lines than
        // the whole width: only those are read and calibrated
        let needed = |width: usize| {
            grid.line_ranges(rows.clone(), width, band.cols.div_ceil(width), margin)
                .into_iter()
                .map(|r| r.map(lines))
                .collect()
        };
        let (radiance, flags, signal) = self.inp.radiance(b, all, &needed)?;
        let img = Window {
            data: &radiance,
            cols: band.cols,
            rows: r1 - r0,
            row0: r0,
        };
        let fl = Window {
            data: &flags,
            cols: band.cols,
            rows: r1 - r0,
            row0: r0,
        };
        let clean = CleanBlocks::of(&fl);
        let d = &band.datation;
        let sun = SunClock::new(&SunEphemeris::at(d.time_ref));
        let d_au = self.inp.earth_sun.distance_au(d.time_ref);
        let row0 = rows.start;
        let (mut refl, mut flags) = (vec![NODATA; n], vec![0u8; n]);
        refl.par_chunks_mut(cols)
            .zip(flags.par_chunks_mut(cols))
            .enumerate()
            .for_each_init(
                || (Vec::new(), Vec::new()),
                |(positions, values), (i, (refl, flags))| {
                    let span = i * cols..(i + 1) * cols;
                    grid.row_positions(row0 + i, &points.heights[span.clone()], positions);
                    // the kernel sample by sample (NaN beyond the swath), then the reflectance
                    // and its coding over the row without a branch
                    values.clear();
                    values.extend(positions.iter().zip(flags.iter_mut()).map(
                        |(&(l, col), flag)| {
                            let Some(spot) = Spot::new(&img, l, col) else {
                                return f32::NAN;
                            };
                            if !spot.is_clean(&clean) {
                                *flag = spot.flags(&fl, kind);
                            }
                            spot.value(&img, kind)
                        },
                    ));
                    let places = &points.places[span];
                    for ((((r, flag), &v), &(l, _)), place) in refl
                        .iter_mut()
                        .zip(flags.iter_mut())
                        .zip(values.iter())
                        .zip(positions.iter())
                        .zip(places)
                    {
                        let cos_sz = sun.cos_zenith(place, d.te * (l - d.line_ref));
                        let rho = radiometry::toa_reflectance(f64::from(v), b, cos_sz, d_au);
                        let seen = v.is_finite() && cos_sz > 0.0;
                        *r = if seen { encode(rho) } else { NODATA };
                        *flag = if seen { *flag } else { 0 };
                    }
                },
            );
        Ok((refl, flags, Some(signal)))
    }

    /// The CLA annex and the quicklook, and the cloud figures of the header.
    fn write_clouds(
        &self,
        l1c: &mut L1c,
        dir: &Path,
        out: &ImageOutputs,
        opts: &Options,
    ) -> Result<()> {
        let c = &out.clouds;
        let p = &c.params;
        let site = self.site;
        let (gl, gc) = c.shape;
        let mut spec = RasterSpec::new(gc, gl, 1, SampleType::U16);
        spec.geo_transform = [
            site.ulx,
            site.pixel_m * p.step.1 as f64,
            0.0,
            site.uly,
            0.0,
            -site.pixel_m * p.step.0 as f64,
        ];
        spec.srs_wkt = raster::srs_wkt_from_epsg(site.epsg)?;
        spec.nodata = Some(65535.0);
        spec.band_descriptions = vec![l1c::CLA_PLANE.to_string()];
        let cla = l1c.annex_path(dir, l1c::ANNEX_CLA);
        let mut ds = raster::create_geotiff(&cla, &spec, &opts.creation_options)?;
        raster::write_window(&mut ds, 1, (0, 0), (gc, gl), &c.altitude_u16())?;
        raster::finish(ds, &cla)?;
        l1c.cla = Some(ClaGrid {
            lines: gl,
            cols: gc,
            step: p.step,
        });
        if let Some(q) = &out.quicklook {
            let jpg = l1c.quicklook_path(dir);
            q.write(&jpg.with_extension("QLK.TIF"), &jpg)?;
            l1c.quicklook = Some(QuicklookInfo {
                bands: q.codes.clone(),
                factor: q.factor,
                lines: q.shape.0,
                cols: q.shape.1,
            });
        }
        let s = &c.stats;
        let stats = &out.stats;
        let percent = if stats.valid == 0 {
            0.0
        } else {
            (100.0 * stats.cloudy as f64 / stats.valid as f64).min(100.0)
        };
        l1c.site.cloud_percentage = Some((percent * 10.0).round() / 10.0);
        l1c.cloud_statistics = Some(CloudStatistics {
            altitude_mean: s.altitude_mean.round(),
            altitude_std: s.altitude_std.round(),
            histogram: s.histogram.map(|v| (v * 10.0).round() / 10.0),
            radiometry_mean: (s.radiometry_mean / QUANTIFICATION * 100.0).round() / 100.0,
            radiometry_std: (s.radiometry_std / QUANTIFICATION * 100.0).round() / 100.0,
            blue_band: venus::BANDS[p.reflectance].code.to_string(),
        });
        let secondary = venus::BANDS[p.secondary].code.to_string();
        let index = |code: &str, value: String, band: bool| QualityIndex {
            code: code.into(),
            value,
            band: band.then(|| secondary.clone()),
        };
        l1c.quality_indexes.extend([
            index("CLOUDS_RATE", format!("{:.3}", percent / 100.0), false),
            index("CORRELATION_NB_POINTS", s.correlated.to_string(), true),
            index("CORRELATION_NB_VALID_POINTS", s.valid.to_string(), true),
            index(
                "CORRELATION_PERCENTAGE_VALID_POINTS",
                format!("{:.2}", 100.0 * s.valid as f64 / s.correlated.max(1) as f64),
                true,
            ),
            index("CORRELATION_RATE", format!("{:.3}", s.mean_score), true),
        ]);
        log::info!(
            "{}: {:.1} % cloud; stereo: {} of {} points matched ({} cloud, {} ground), clouds at \
             {:.0} ± {:.0} m",
            l1c.global_id(),
            percent,
            s.valid,
            s.correlated,
            s.cloud_points,
            s.ground_points,
            s.altitude_mean,
            s.altitude_std
        );
        Ok(())
    }

    /// SOL and VIE annexes: sun and viewing directions on the coarse grid, as displacement per
    /// metre of altitude (see [`crate::product::l1c`]).
    fn write_angle_grids(&self, l1c: &L1c, dir: &Path, opts: &Options) -> Result<()> {
        let (gl, gc) = l1c.site.angle_grid_shape();
        let step = l1c.site.angle_grid_step_m;
        let node = |i: usize, j: usize| {
            (
                l1c.site.ulx + j as f64 * step,
                l1c.site.uly - i as f64 * step,
            )
        };
        let mut spec = RasterSpec::new(gc, gl, 2, SampleType::F32);
        spec.geo_transform = [
            l1c.site.ulx - step / 2.0,
            step,
            0.0,
            l1c.site.uly + step / 2.0,
            0.0,
            -step,
        ];
        spec.srs_wkt = raster::srs_wkt_from_epsg(l1c.site.epsg)?;
        spec.nodata = Some(f64::NAN);
        spec.band_descriptions = l1c::SOL_PLANES.iter().map(|s| s.to_string()).collect();
        let eph = SunEphemeris::at(l1c.site.acquisition);
        let mut dx = Vec::with_capacity(gl * gc);
        let mut dy = Vec::with_capacity(gl * gc);
        for i in 0..gl {
            for j in 0..gc {
                let (e, n) = node(i, j);
                let (lon, lat) = self.local.lonlat(e, n);
                let a = eph.angles(lat, lon);
                let (x, y) = angles_to_grid(a.zenith, a.azimuth);
                dx.push(x as f32);
                dy.push(y as f32);
            }
        }
        let sol = l1c.annex_path(dir, l1c::ANNEX_SOL);
        write_planes(&sol, &spec, &[dx, dy], opts)?;
        let mut planes = Vec::new();
        for code in l1c::VIE_BANDS {
            let b = band_index(code);
            let mut dx = Vec::with_capacity(gl * gc);
            let mut dy = Vec::with_capacity(gl * gc);
            for i in 0..gl {
                for j in 0..gc {
                    let (e, n) = node(i, j);
                    let (x, y) = self.view_at(b, e, n);
                    dx.push(x as f32);
                    dy.push(y as f32);
                }
            }
            planes.push(dx);
            planes.push(dy);
        }
        spec.bands = planes.len();
        spec.band_descriptions = L1c::vie_planes();
        write_planes(&l1c.annex_path(dir, l1c::ANNEX_VIE), &spec, &planes, opts)
    }

    /// (DX, DY) viewing direction of band `b` at map point (E, N) on the terrain.
    fn view_at(&self, b: usize, e: f64, n: f64) -> (f64, f64) {
        let h = self.inp.dem.height(e, n);
        let (l, c) = self.models[b].image_position(e, n, h);
        self.models[b].view_direction(l, c, h)
    }
}

fn write_planes(path: &Path, spec: &RasterSpec, planes: &[Vec<f32>], opts: &Options) -> Result<()> {
    let mut ds = raster::create_geotiff(path, spec, &opts.creation_options)?;
    for (k, p) in planes.iter().enumerate() {
        raster::write_window(&mut ds, k + 1, (0, 0), (spec.width, spec.height), p)?;
    }
    raster::finish(ds, path)
}

/// Reflectance to its int16 code; the nodata code is never produced by a real value.
fn encode(rho: f64) -> i16 {
    let v = raster::half_away(rho * (1.0 / QUANTIFICATION)).clamp(-32767.0, 32767.0) as i16;
    if v == NODATA {
        NODATA + 1
    } else {
        v
    }
}

fn band_index(code: &str) -> usize {
    venus::BANDS
        .iter()
        .position(|b| b.code == code)
        .expect("a VENµS band code")
}

/// The output grid by default: the union of the bands' footprints (at the mean DEM height),
/// on the lattice of the product sampling in the DEM's projection.
fn footprint_grid(inp: &Inputs, models: &[BandModel]) -> Site {
    let (_, _, mean, _) = inp.dem.statistics();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (m, band) in models.iter().zip(&inp.product.bands) {
        let (l, c) = ((band.lines - 1) as f64, (band.cols - 1) as f64);
        for (line, col) in [(0.0, 0.0), (0.0, c), (l, 0.0), (l, c)] {
            let (e, n) = m.ground(line, col, mean);
            x0 = x0.min(e);
            x1 = x1.max(e);
            y0 = y0.min(n);
            y1 = y1.max(n);
        }
    }
    let px = venus::PRODUCT_SAMPLING_M;
    let (ulx, uly) = ((x0 / px).floor() * px, (y1 / px).ceil() * px);
    let p = &inp.product;
    Site {
        name: p.nick.trim_end_matches('_').to_string(),
        nick: p.nick.clone(),
        epsg: inp.epsg,
        ulx,
        uly,
        pixel_m: px,
        lines: ((uly - y0) / px).ceil() as usize,
        cols: ((x1 - ulx) / px).ceil() as usize,
        acquisition: p.acquisition.format("%Y-%m-%dT%H:%M:%S").to_string(),
    }
}

pub(crate) fn check_dem_covers(dem: &Dem, site: &Site, path: &Path) -> Result<()> {
    let corners = site.corners();
    if corners.iter().all(|&(e, n)| dem.covers(e, n)) {
        Ok(())
    } else {
        Err(VipError::bad_input(
            path,
            format!(
                "DEM does not cover the output grid ({:.0} {:.0} – {:.0} {:.0}, EPSG:{})",
                corners[0].0, corners[2].1, corners[2].0, corners[0].1, site.epsg
            ),
        ))
    }
}

/// DEM heights over the grid, sampled on its own pixels.
fn heights_over(dem: &Dem, site: &Site) -> Vec<f64> {
    let [ul, _, lr, _] = site.corners();
    let mut out = Vec::new();
    let mut n = lr.1 + dem.pixel / 2.0;
    while n < ul.1 {
        let mut e = ul.0 + dem.pixel / 2.0;
        while e < lr.0 {
            out.push(dem.height(e, n));
            e += dem.pixel;
        }
        n += dem.pixel;
    }
    if out.is_empty() {
        let (e, n) = site.centre();
        out.push(dem.height(e, n));
    }
    out
}

fn height_range(dem: &Dem, site: &Site) -> (f64, f64) {
    heights_over(dem, site)
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &h| (lo.min(h), hi.max(h)))
}

fn dem_statistics(dem: &Dem, site: &Site) -> (f64, f64, f64, f64) {
    let h = heights_over(dem, site);
    let n = h.len() as f64;
    let mean = h.iter().sum::<f64>() / n;
    let var = h.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let (lo, hi) = h
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    (lo, hi, mean, var.sqrt())
}

/// The L1C header model: grid, angles at the corners, calibration, GIPPs used.
fn header_model(
    inp: &Inputs,
    site: &Site,
    models: &[BandModel],
    to_lonlat: &MapToLonLat,
    refined: Option<&refinement::Refined>,
) -> Result<L1c> {
    let p = &inp.product;
    let last = |n: usize| (n - 1) as f64;
    // UL, UR, LL, LR pixel centres and the centre (AngleSet order).
    let points = [
        site.pixel_centre(0.0, 0.0),
        site.pixel_centre(0.0, last(site.cols)),
        site.pixel_centre(last(site.lines), 0.0),
        site.pixel_centre(last(site.lines), last(site.cols)),
        site.centre(),
    ];
    let mut corners_lonlat = [(0.0, 0.0); 5];
    for (k, &(e, n)) in points.iter().enumerate() {
        corners_lonlat[k] = to_lonlat.lonlat(e, n)?;
    }
    let eph = SunEphemeris::at(p.acquisition);
    let mut sun = AngleSet::uniform(0.0, 0.0);
    for (k, &(lon, lat)) in corners_lonlat.iter().enumerate() {
        let a = eph.angles(lat, lon);
        sun.zenith[k] = a.zenith;
        sun.azimuth[k] = a.azimuth;
    }
    let view = std::array::from_fn(|d| {
        let b = band_index(l1c::VIE_BANDS[d]);
        let mut set = AngleSet::uniform(0.0, 0.0);
        for (k, &(e, n)) in points.iter().enumerate() {
            let h = inp.dem.height(e, n);
            let (l, c) = models[b].image_position(e, n, h);
            let (dx, dy) = models[b].view_direction(l, c, h);
            let (zen, az) = grid_to_angles(dx, dy);
            set.zenith[k] = zen;
            set.azimuth[k] = az;
        }
        set
    });
    // the line of sight of the refined band at the image centre, in the satellite frame
    let (ce, cn) = site.centre();
    let b05 = band_index(refinement::REFINED_BAND);
    let satellite_frame = models[b05].view_in_satellite_frame(ce, cn, inp.dem.height(ce, cn))?;
    let creation = crate::ee::header::creation_time();
    Ok(L1c {
        site: SiteHeader {
            class: p.class.clone(),
            nick: p.nick.clone(),
            date: p.date,
            acquisition: p.acquisition.with_nanosecond(0).unwrap_or(p.acquisition),
            orbit: inp.product.orbit,
            epsg: site.epsg,
            ulx: site.ulx,
            uly: site.uly,
            pixel_m: site.pixel_m,
            lines: site.lines,
            cols: site.cols,
            quantification: QUANTIFICATION,
            nodata: NODATA,
            gipps_used: inp.gipps_used.clone(),
            sun,
            view,
            view_in_satellite_frame: Some(satellite_frame),
            corners_lonlat,
            cloud_percentage: None,
            dem_reference: format!(
                "GLOBAL={}",
                inp.dem_path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
            ),
            dem_stats: None,
            aks: inp.bands.iter().map(|b| b.calibration.gain).collect(),
            angle_grid_step_m: ANGLE_GRID_STEP_M,
            creation,
            creator: "vip-l1".into(),
            creator_version: env!("CARGO_PKG_VERSION").into(),
        },
        input_product_id: p.global_id(),
        flags: ProcessingFlags {
            equalization: true,
            bad_pixels_correction: true,
            geometrical_refinement_with_ref_image: refined.is_some(),
            ..Default::default()
        },
        reference_image: refined.map(|r| r.reference.clone()),
        cloud_statistics: None,
        quality_indexes: refined.map(|r| r.indexes.clone()).unwrap_or_default(),
        cla: None,
        quicklook: None,
    })
}
