//! `vip-sim scene`: one acquisition over one site, written in the layout of DESIGN.md §7.
//!
//! Order of the work: site grid → landscape → DEM (20 m, in memory, with a margin) →
//! calibration and acquisition plan → atmosphere (with `--luts`) → truth rasters in the site
//! grid → GIPPs → raw L1A images, each band streamed in strips of raw lines sized by `--ram`
//! (at most 2048), lines computed in parallel.
//! Every random draw is keyed by the seed and the sample's coordinates, so the bytes do not
//! depend on `--threads`; header creation dates are the acquisition time for the same reason.
//!
//! Where the time goes: the landscape is drawn once per truth pixel and once per raw pixel of
//! every band, 13 times per ground place. Each band sees the ground along its own line of
//! sight, at points no other band shares (the tri-detectors look 0.004–0.025 fore or aft, so
//! relief moves them by metres to tens of metres between bands), and the scene has sharp
//! edges and metre-scale texture, so a draw cannot serve two bands nor be interpolated from a
//! grid without blurring what the processors are tested on. The work per draw is cut instead,
//! every value unchanged: what the previous sample computed is memoised per thread (the
//! corner values of each random field's last lattice cell, the parcel and stand centres
//! around the last cell, the last parcels' draws), the fields that place forests, roads, the
//! river and lakes are bounded per 40 m square and drawn only where the feature can reach
//! (most of the map is far from all of them), and nothing is drawn under a closed canopy. The
//! landscape and the truth rasters are those of the direct evaluation, byte for byte. Each raw
//! pixel's line of sight is followed down from the DEM's top to where it first meets the
//! terrain (what the sensor sees, behind ridges too), through the band's forward grid.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::acquisition::{self, Acquisition, Optics, Pointing, Site};
use super::atmosphere::{self, Atmosphere, CentreGeometry};
use super::clouds::{CloudSpec, Clouds, Column, SunGeometry, ViewField, SEEN_BAND};
use super::instrument::{self, BandCalibration};
use super::landscape::{Landscape, NB};
use super::orbit::{eop_table, SIMULATED_EOP};
use super::SceneSpec;
use crate::atmosphere::LutSet;
use crate::cli::{progress, Options};
use crate::ee::auxdata::{self, AuxId};
use crate::ee::eordta;
use crate::ee::strlgt::StrayLightFilters;
use crate::error::{Result, VipError};
use crate::geometry::dem::{meet_terrain, Dem};
use crate::geometry::lonlat::{utm_epsg, LocalLonLat, MapToLonLat};
use crate::geometry::ortho::NodeGrid;
use crate::geometry::sun::SunEphemeris;
use crate::geometry::time::seconds_between;
use crate::mission::venus::{self, DETECTORS};
use crate::product::l1a::{AuxiliaryFile, L1a, LineDatation, RawBand, RawGeometry};
use crate::raster::{self, RasterSpec, SampleType, Staged, Strips};
use crate::straylight;

/// Pixel of the simulated DEM, metres (REFDE2-like).
pub const DEM_PIXEL_M: f64 = 20.0;
/// Raw lines per strip at most. Each line is simulated on its own, so a taller strip would
/// only hold more memory: with strips as tall as `--ram` allows, a long scene's first strip
/// held more than a square scene's whole band, and its peak was half as large again.
const RAW_STRIP_LINES: usize = 2048;
/// File class of everything the simulator writes.
pub const CLASS: &str = "TEST";

/// Writes the scene under `opts.output` (which must not exist unless `--overwrite`) and returns
/// the path of the raw L1A header.
pub fn write_scene(spec: &SceneSpec, opts: &Options) -> Result<Vec<PathBuf>> {
    let nick = spec.nick()?;
    let luts = match &spec.atmosphere {
        None => None,
        Some(a) => {
            for (flag, v) in [("--aot", a.aot_mean), ("--wv", a.wv_mean)] {
                if !(v.is_finite() && v > 0.0) {
                    return Err(VipError::Usage(format!("{flag} {v}: must be positive")));
                }
            }
            Some(LutSet::read(&a.luts, &a.model)?)
        }
    };
    let staged = Staged::dir(&opts.output, opts.overwrite)?;
    let root = staged.path().to_path_buf();
    let t_centre = spec.date.and_time(spec.time);

    let (lon, lat) = spec.centre_lonlat;
    let epsg = utm_epsg(lon, lat);
    let to_lonlat = MapToLonLat::new(epsg)?;
    let (cx, cy) = to_lonlat.map(lon, lat)?;
    let px = venus::PRODUCT_SAMPLING_M;
    let snap = |v: f64| (v / DEM_PIXEL_M).round() * DEM_PIXEL_M;
    let site = Site {
        name: spec.site.clone(),
        nick: nick.clone(),
        epsg,
        ulx: snap(cx - spec.cols as f64 * px / 2.0),
        uly: snap(cy + spec.lines as f64 * px / 2.0),
        pixel_m: px,
        lines: spec.lines,
        cols: spec.cols,
        acquisition: t_centre.format("%Y-%m-%dT%H:%M:%S").to_string(),
    };
    let extent = (spec.lines.max(spec.cols)) as f64 * px;
    let mut land =
        Landscape::new(spec.seed, (site.ulx, site.uly), extent, spec.relief_m).on(spec.date, lat);
    if spec.lake {
        land = land.with_lake(site.centre(), 0.2 * extent);
    }
    // the raw images reach beyond the site by the relief's displacement: a margin for it
    let local = to_lonlat.local(site.centre(), extent + 5000.0)?;

    let dem = make_dem(&site, &land);
    write_dem(&root.join("DEM.tif"), &dem, epsg, opts)?;

    let (h_lo, h_hi, _, _) = dem.statistics();
    let full = instrument::draw(spec.seed, 0..DETECTORS);
    let dirs: Vec<_> = full.iter().map(|c| c.view_dirs.clone()).collect();
    let sengeo = super::gipps::ideal_sensor_geometry();
    let optics = venus::BANDS
        .iter()
        .zip(&dirs)
        .map(|(b, d)| {
            Ok(Optics {
                view_dirs: d,
                array_to_body: sengeo.array_to_body(b.code).ok_or_else(|| {
                    VipError::Internal(format!("no array rotation for {}", b.code))
                })?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let pointing = Pointing {
        roll_deg: spec.roll_deg,
        first_detector: spec.first_detector,
        knowledge: spec.knowledge,
        jitter: (spec.attitude_noise_urad != 0.0).then_some(super::orbit::Jitter {
            rms_urad: spec.attitude_noise_urad,
            seed: spec.seed,
        }),
    };
    let eop = (SIMULATED_EOP, eop_table(t_centre, SIMULATED_EOP));
    let acq = acquisition::plan(
        &site,
        &local,
        t_centre,
        (h_lo, h_hi),
        &optics,
        pointing,
        eop,
    )?
    .ok_or_else(|| {
        VipError::Usage(match spec.first_detector {
            Some(d) => format!(
                "--first-detector {d}: the site does not fit the detector array from there \
                 (roll {}°)",
                spec.roll_deg
            ),
            None => format!(
                "--lines {} --cols {}: the site lies outside the 5200-detector swath at roll {}°",
                spec.lines, spec.cols, spec.roll_deg
            ),
        })
    })?;
    let cal = instrument::draw(spec.seed, acq.first_detector..acq.first_detector + acq.cols);

    let atm = match (&spec.atmosphere, &luts) {
        (Some(a), Some(luts)) => {
            let geometry = CentreGeometry::of(&acq, site.centre(), &local, &dem);
            let origin = (site.ulx, site.uly);
            Some(Atmosphere::new(
                a, luts, geometry, spec.seed, origin, &land, &dem,
            )?)
        }
        _ => None,
    };
    let sun = SunGeometry {
        eph: SunEphemeris::at(t_centre),
        local: &local,
    };
    let clouds = spec
        .clouds
        .as_ref()
        .map(|c| (c, Clouds::new(c, &dem, &sun)));
    let world = World {
        land: &land,
        dem: &dem,
        models_bytes: acq.bytes(),
        atm: atm.as_ref(),
        sky: clouds.as_ref().map(|(spec, clouds)| Sky {
            spec,
            clouds,
            sun,
            seen: ViewField::of(
                &acq.models[SEEN_BAND],
                site.centre(),
                dem.height(site.centre().0, site.centre().1),
                extent / 2.0,
            ),
        }),
    };
    write_truth(&root.join("truth"), &site, &world, opts)?;

    let strlgt = spec.straylight.then(super::straylight::filters);
    super::gipps::write(
        &root.join("GIPP"),
        &nick,
        spec.date,
        t_centre,
        &cal,
        &sengeo,
        strlgt.as_deref(),
    )?;
    if let (Some(a), Some(atm)) = (&spec.atmosphere, &atm) {
        atmosphere::copy_lut_gipps(&a.luts, &root.join("GIPP"))?;
        let json = serde_json::to_string_pretty(&atm.record())
            .map_err(|e| VipError::Internal(format!("atmosphere.json: {e}")))?;
        let path = root.join("truth/atmosphere.json");
        std::fs::write(&path, json + "\n").map_err(|e| VipError::output_io(&path, &e))?;
    }
    // what the auxiliary data do not say: the roll flown, their knowledge error and the
    // attitude noise between their samples
    let flight = serde_json::json!({
        "roll_deg": acq.roll_deg,
        "knowledge_error": spec.knowledge,
        "attitude_noise_urad": spec.attitude_noise_urad,
    });
    let path = root.join("truth/flight.json");
    std::fs::write(&path, format!("{flight:#}\n")).map_err(|e| VipError::output_io(&path, &e))?;
    let l1a_dir = root.join("L1A");
    raster::ensure_dir(&l1a_dir)?;
    let auxiliary = write_auxiliary(&l1a_dir, &nick, &acq)?;
    let surface = if atm.is_some() { "SRE" } else { "TOA" };
    let truth_b05 = root.join(format!("truth/{surface}_B05.tif"));
    write_reference_image(&l1a_dir, &nick, &truth_b05, t_centre, opts)?;
    let l1a = l1a_model(&nick, spec, &acq, auxiliary)?;
    let hdr = l1a.write_headers(&l1a_dir)?;
    let raw = RawScene {
        l1a: &l1a,
        acq: &acq,
        cal: &cal,
        world: &world,
        local: &local,
        heights: (h_lo, h_hi),
        seed: spec.seed,
    };
    match &strlgt {
        None => raw.write(&l1a_dir, opts)?,
        Some(filters) => raw.write_with_straylight(&l1a_dir, &root.join("truth"), filters, opts)?,
    }

    let json = serde_json::to_string_pretty(&site)
        .map_err(|e| VipError::Internal(format!("site.json: {e}")))?;
    let site_json = root.join("site.json");
    std::fs::write(&site_json, json + "\n").map_err(|e| VipError::output_io(&site_json, &e))?;

    let dest = staged.commit()?;
    let rel = hdr
        .strip_prefix(&root)
        .map_err(|_| VipError::Internal("L1A outside the scene".into()))?;
    Ok(vec![dest.join(rel)])
}

/// The site's geometric reference image (REFIMG), in the L1A's folder with the other
/// auxiliary data: the clear-sky surface reflectance of B05 (`truth`) on the site grid,
/// reflectance × 1000 in int16. It sees the ground without atmosphere or clouds, as a
/// cloud-free image of another date would after its own correction.
fn write_reference_image(
    dir: &Path,
    nick: &str,
    truth: &Path,
    creation: chrono::NaiveDateTime,
    opts: &Options,
) -> Result<PathBuf> {
    let src = raster::open(truth)?;
    let mut spec = raster::spec_like(&src)?;
    spec.data_type = SampleType::I16;
    spec.band_descriptions = vec!["B05 surface reflectance x 1000".into()];
    spec.nodata = Some(f64::from(crate::level1::NODATA));
    let (cols, lines) = src.raster_size();
    let tmp = dir.join("REFIMG.tmp.tif");
    let mut ds = raster::create_geotiff(&tmp, &spec, &opts.creation_options)?;
    let rows = 256;
    for row in (0..lines).step_by(rows) {
        let n = rows.min(lines - row);
        let rho: Vec<f32> = raster::read_window(&src, 1, (0, row), (cols, n))?;
        let counts: Vec<i16> = rho
            .iter()
            .map(|&r| (f64::from(r) * 1000.0).round().clamp(-9999.0, 32767.0) as i16)
            .collect();
        raster::write_window(&mut ds, 1, (0, row), (cols, n), &counts)?;
    }
    raster::finish(ds, &tmp)?;
    crate::ee::refimg::write_refimg(dir, CLASS, &[nick.to_string()], &tmp, creation)
}

/// The DEM grid: the site plus a margin wide enough for the raw swath around it.
fn make_dem(site: &Site, land: &Landscape) -> Dem {
    // beyond the site, what the raw images' lines of sight reach: it grows with the site up to
    // the swath's width, not with a long site's length
    let margin = 1000.0 + 0.25 * (site.lines.max(site.cols)).min(4600) as f64 * site.pixel_m;
    let ulx = site.ulx - margin;
    let uly = site.uly + margin;
    let width = ((site.cols as f64 * site.pixel_m + 2.0 * margin) / DEM_PIXEL_M).ceil() as usize;
    let height = ((site.lines as f64 * site.pixel_m + 2.0 * margin) / DEM_PIXEL_M).ceil() as usize;
    let data = (0..height)
        .into_par_iter()
        .flat_map_iter(|r| {
            (0..width).map(move |c| {
                let e = ulx + (c as f64 + 0.5) * DEM_PIXEL_M;
                let n = uly - (r as f64 + 0.5) * DEM_PIXEL_M;
                land.altitude(e, n) as f32
            })
        })
        .collect();
    Dem {
        ulx,
        uly,
        pixel: DEM_PIXEL_M,
        width,
        height,
        data,
    }
}

fn write_dem(path: &Path, dem: &Dem, epsg: u32, opts: &Options) -> Result<()> {
    let mut spec = RasterSpec::new(dem.width, dem.height, 1, SampleType::F32);
    spec.geo_transform = dem.geo_transform();
    spec.srs_wkt = raster::srs_wkt_from_epsg(epsg)?;
    spec.band_descriptions = vec!["altitude (m)".into()];
    let mut ds = raster::create_geotiff(path, &spec, &opts.creation_options)?;
    raster::write_window(&mut ds, 1, (0, 0), (dem.width, dem.height), &dem.data)?;
    raster::finish(ds, path)
}

/// The surface and what lies over it: the one source of the truth rasters and of the signal
/// reaching the detectors.
struct World<'a> {
    land: &'a Landscape,
    dem: &'a Dem,
    /// Bytes of the bands' orbital models, held to the end beside the world.
    models_bytes: u64,
    atm: Option<&'a Atmosphere>,
    sky: Option<Sky<'a>>,
}

/// The clouds of a scene with what their truth needs: the sun that casts their shadows and
/// the viewing direction of the band ([`SEEN_BAND`]) the "as seen" truth is taken along.
struct Sky<'a> {
    spec: &'a CloudSpec,
    clouds: &'a Clouds,
    sun: SunGeometry<'a>,
    seen: ViewField,
}

impl World<'_> {
    /// Bytes held for the whole scene beside the strips (the DEM, the atmosphere's and the
    /// clouds' grids, the bands' orbital models): they grow with the scene, so they come out
    /// of the strips' share of `--ram`.
    fn held_bytes(&self) -> u64 {
        self.models_bytes
            + self.dem.bytes()
            + self.atm.map_or(0, Atmosphere::held_bytes)
            + self.sky.as_ref().map_or(0, |s| s.clouds.bytes())
    }

    /// TOA reflectance in band `b` at ground point (E, N) of altitude `h`, under the clouds of
    /// `sky` (what the line of sight meets, and cos θs) if any.
    fn toa(&self, e: f64, n: f64, h: f64, b: usize, sky: Option<(&Column, f64)>) -> f64 {
        let rho = self.land.ground(e, n, h).band(b);
        // Clear-sky TOA reflectance with the direct sun replaced by the direct and diffuse
        // light under the clouds (fractions of the beam; module doc of `clouds`), of the
        // pixel itself (sharp) or of the flat landscape around it (what a cloud's diffuse
        // transmittance blurs the ground into).
        let lit = |(direct, diffuse): (f64, f64), sharp: bool| match self.atm {
            None => rho * (direct + diffuse),
            Some(a) => {
                let mut p = a.point(e, n, h);
                let rho = if sharp {
                    rho
                } else {
                    p.light.cos_i = p.light.cos_sza;
                    p.light.cos_slope = 1.0;
                    a.mean_reflectance(&p, b)
                };
                let l = &mut p.light;
                l.cos_i = if diffuse > 0.0 {
                    direct * l.cos_i.max(0.0) + diffuse * l.cos_sza * (1.0 + l.cos_slope) / 2.0
                } else {
                    direct * l.cos_i
                };
                a.band(&p, b, rho).toa
            }
        };
        match sky {
            // the cloud–ground reflections go by the ground's albedo (a sunny slope's
            // apparent reflectance, above 1 at times, would have them run away)
            Some((col, mu_s)) if !col.is_clear() => {
                let light = col.sun_light(mu_s);
                col.toa(mu_s, (lit(light, true), lit(light, false)), rho.min(1.0))
            }
            _ => lit((1.0, 0.0), true),
        }
    }

    /// Names and descriptions of the truth rasters, in the order of [`World::truth`].
    fn layers(&self) -> Vec<(String, String)> {
        let per_band = |q: &str, what: &str| {
            venus::BANDS
                .iter()
                .map(|b| (format!("{q}_{}", b.code), format!("{} {what}", b.code)))
                .collect::<Vec<_>>()
        };
        let mut l = per_band("TOA", "TOA reflectance");
        if self.atm.is_some() {
            l.extend(per_band(
                "SRE",
                "surface reflectance, flat-terrain model (slope effects in)",
            ));
            l.extend(per_band(
                "FRE",
                "surface reflectance, intrinsic (slope effects out)",
            ));
            l.push(("AOT".into(), "aerosol optical thickness at 550 nm".into()));
            l.push(("WVC".into(), "water-vapour column (g/cm2)".into()));
        }
        l.push(("WAT".into(), "open-water fraction of the ground".into()));
        l.push(("SNW".into(), "snow-covered fraction of the ground".into()));
        if self.sky.is_some() {
            let seen = venus::BANDS[SEEN_BAND].code;
            for (name, what) in [
                (
                    "CLD_THICK",
                    "optical thickness of low and middle clouds, footprint".into(),
                ),
                ("CLD_THIN", "optical thickness of cirrus, footprint".into()),
                (
                    "CLA",
                    "cloud altitude (m; thick layer first, 0 clear), footprint".into(),
                ),
                (
                    "CLD_SEEN",
                    format!("cloud optical thickness as {seen} sees it (L1C geometry)"),
                ),
                (
                    "SHD",
                    "direct-sun transmittance on the ground (1 lit, < 1 cloud shadow)".into(),
                ),
            ] {
                l.push((name.into(), what));
            }
        }
        l
    }

    /// The truth values at map point (E, N) in the order of [`World::layers`], the value of
    /// layer i going to `out[i * stride]`.
    fn truth(&self, e: f64, n: f64, out: &mut [f32], stride: usize) {
        let h = self.dem.height(e, n);
        let ground = self.land.ground(e, n, h);
        let rho = ground.spectrum();
        let covers = if self.atm.is_some() { 3 * NB + 2 } else { NB };
        out[covers * stride] = ground.water as f32;
        out[(covers + 1) * stride] = ground.snow as f32;
        match self.atm {
            None => {
                for b in 0..NB {
                    out[b * stride] = rho[b] as f32;
                }
            }
            Some(a) => {
                let p = a.point(e, n, h);
                for b in 0..NB {
                    let t = a.band(&p, b, rho[b]);
                    out[b * stride] = t.toa as f32;
                    out[(NB + b) * stride] = t.sre as f32;
                    out[(2 * NB + b) * stride] = t.fre as f32;
                }
                out[3 * NB * stride] = p.aot as f32;
                out[(3 * NB + 1) * stride] = p.wv as f32;
            }
        }
        if let Some(sky) = &self.sky {
            let first = covers + 2;
            let (dx, dy) = sky.seen.at(e, n);
            let col = sky
                .clouds
                .column(e, n, h, |z| (e + (z - h) * dx, n + (z - h) * dy));
            let layers = sky.clouds.altitudes();
            let over = |cirrus: bool| -> f64 {
                (0..col.n)
                    .filter(|&k| layers[k].1 == cirrus)
                    .map(|k| col.over[k])
                    .sum()
            };
            let cla = (0..col.n)
                .filter(|&k| !layers[k].1)
                .chain((0..col.n).filter(|&k| layers[k].1))
                .find(|&k| col.over[k] > 0.0)
                .map_or(0.0, |k| layers[k].0);
            let seen: f64 = col.view[..col.n].iter().map(|v| v.0).sum();
            let shadow = col.sun_light(sky.sun.at(e, n).0).0;
            for (i, v) in [over(false), over(true), cla, seen, shadow]
                .into_iter()
                .enumerate()
            {
                out[(first + i) * stride] = v as f32;
            }
        }
    }
}

/// The truth rasters of [`World::layers`] (TOA_B01.tif … TOA_B12.tif, and with an atmosphere
/// SRE_Bnn, FRE_Bnn, AOT, WVC; always WAT and SNW, the open-water and snow fractions of the
/// ground): float32 in the site grid, at pixel centres. The reflectances are the clear sky's.
/// With clouds: CLD_THICK, CLD_THIN (optical thickness, vertical footprint), CLA (cloud
/// altitude above the datum, footprint), CLD_SEEN (the layers' optical thickness on the line
/// of sight of [`SEEN_BAND`] through each ground point: the clouds where that band's L1C shows
/// them), SHD (direct-sun transmittance of the ground, which the L1C
/// shows in place, hidden where CLD_SEEN > 0), and clouds.json (the layers, with their
/// altitudes above the datum).
fn write_truth(dir: &Path, site: &Site, world: &World, opts: &Options) -> Result<()> {
    raster::ensure_dir(dir)?;
    if let Some(sky) = &world.sky {
        let mut json = serde_json::to_value(sky.spec)
            .map_err(|e| VipError::Internal(format!("clouds.json: {e}")))?;
        json["altitudes_m"] = sky
            .clouds
            .altitudes()
            .iter()
            .map(|a| a.0)
            .collect::<Vec<_>>()
            .into();
        let path = dir.join("clouds.json");
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        std::fs::write(&path, text + "\n").map_err(|e| VipError::output_io(&path, &e))?;
    }
    let mut spec = RasterSpec::new(site.cols, site.lines, 1, SampleType::F32);
    spec.geo_transform = site.geo_transform();
    spec.srs_wkt = raster::srs_wkt_from_epsg(site.epsg)?;
    let layers = world.layers();
    let k = layers.len();
    let mut outs = Vec::new();
    for (name, what) in &layers {
        let path = dir.join(format!("{name}.tif"));
        spec.band_descriptions = vec![what.clone()];
        outs.push((
            raster::create_geotiff(&path, &spec, &opts.creation_options)?,
            path,
        ));
    }
    let bar = progress(site.lines as u64, "truth");
    let ram = raster::budget_beside(opts.ram_bytes, world.held_bytes());
    // per pixel: the k layers' values and one layer's copy on its way to GDAL
    for win in Strips::for_budget(site.lines, site.cols, ram, (k + 1) * 4) {
        let cols = site.cols;
        // one line after the other, each line layer after layer
        let mut values = vec![0f32; win.rows * k * cols];
        values
            .par_chunks_mut(k * cols)
            .enumerate()
            .for_each(|(i, line)| {
                for c in 0..cols {
                    let (e, n) = site.pixel_centre((win.row + i) as f64, c as f64);
                    world.truth(e, n, &mut line[c..], cols);
                }
            });
        for (i, (ds, _)) in outs.iter_mut().enumerate() {
            let layer: Vec<f32> = values
                .chunks_exact(k * cols)
                .flat_map(|line| &line[i * cols..(i + 1) * cols])
                .copied()
                .collect();
            raster::write_window(ds, 1, (0, win.row), (cols, win.rows), &layer)?;
        }
        bar.inc(win.rows as u64);
    }
    bar.finish_and_clear();
    for (ds, path) in outs {
        raster::finish(ds, &path)?;
    }
    Ok(())
}

fn l1a_model(
    nick: &str,
    spec: &SceneSpec,
    acq: &Acquisition,
    auxiliary: Vec<AuxiliaryFile>,
) -> Result<L1a> {
    let ((nadir_lon, nadir_lat, altitude), heading, ground_speed) = acq.nadir()?;
    let t_centre = acq.t_centre;
    Ok(L1a {
        class: CLASS.into(),
        nick: nick.into(),
        date: spec.date,
        acquisition: t_centre,
        orbit: Some(super::orbit::orbit_number(t_centre)),
        bands: venus::BANDS
            .iter()
            .zip(&acq.bands)
            .zip(&acq.lines)
            .map(|((b, g), &lines)| RawBand {
                code: b.code.into(),
                lines,
                cols: acq.cols,
                tdi: 8,
                datation: LineDatation {
                    line_ref: g.datation.line_ref,
                    time_ref: g.datation.time_ref,
                    te: g.datation.te,
                },
            })
            .collect(),
        geometry: RawGeometry {
            heading_deg: heading,
            roll_deg: acq.roll_deg,
            pitch_deg: 0.0,
            yaw_deg: 0.0,
            nadir_lat,
            nadir_lon,
            altitude_m: altitude,
            ground_speed_m_s: ground_speed,
            first_detector: acq.first_detector,
            along_track_resolution_m: venus::GROUND_SAMPLING_M,
            along_detector_resolution_m: venus::GROUND_SAMPLING_M,
        },
        creation: t_centre,
        creator: "vip-sim".into(),
        straylight: None,
        auxiliary,
    })
}

/// [`BandModel::locate`] through the band's forward grid: where the line of sight of raw
/// pixel (`line`, `col`) first meets the DEM, whose highest point is `top`.
fn locate(grid: &NodeGrid, dem: &Dem, top: f64, (line, col): (usize, usize)) -> (f64, f64, f64) {
    meet_terrain(
        |h| grid.position(line, col, h),
        |e, n| dem.height(e, n),
        top,
        dem.pixel,
    )
}

/// Writes the acquisition's auxiliary data into `dir` (the L1A's): GPSDTA, AOCDTA and the
/// Earth orientation (EORDTA); returns the L1A's references to the first two.
fn write_auxiliary(dir: &Path, nick: &str, acq: &Acquisition) -> Result<Vec<AuxiliaryFile>> {
    let id = AuxId {
        class: CLASS.into(),
        site_type: 'S',
        nick: nick.into(),
        orbit: super::orbit::orbit_number(acq.t_centre),
        serial: 1,
    };
    // created at the acquisition, as every header vip-sim writes: the same bytes every run
    for (ty, mut doc) in [
        ("GPSDTA", auxdata::gpsdta(&id, &acq.gps)?),
        ("AOCDTA", auxdata::aocdta(&id, &acq.attitude)?),
    ] {
        doc.fixed.creation_date = acq.t_centre;
        doc.fixed.creator = "vip-sim".into();
        doc.write(&dir.join(format!("{}.EEF", id.file_name(ty))))?;
    }
    let eop = &acq.flight.eop;
    eordta::write_eordta(dir, CLASS, &eop.days, eop.validity, acq.t_centre)?;
    Ok(vec![
        AuxiliaryFile {
            code: "GPS".into(),
            name: id.file_name("GPSDTA"),
        },
        AuxiliaryFile {
            code: "AOCS".into(),
            name: id.file_name("AOCDTA"),
        },
    ])
}

/// What the raw images are made of.
struct RawScene<'a> {
    l1a: &'a L1a,
    acq: &'a Acquisition,
    cal: &'a [BandCalibration],
    world: &'a World<'a>,
    local: &'a LocalLonLat,
    /// The DEM's lowest and highest heights.
    heights: (f64, f64),
    seed: u64,
}

impl RawScene<'_> {
    /// The ideal signal S reaching band `b` over `lines`: every pixel located on the DEM with
    /// the band's own viewing direction, the truth read there, turned into signal with the sun
    /// of that place at that line's time.
    fn signal(&self, b: usize, lines: std::ops::Range<usize>, grid: &NodeGrid) -> Vec<f32> {
        let band = &self.l1a.bands[b];
        let model = &self.acq.models[b];
        let top = self.heights.1 + 1.0;
        let mut out = vec![0f32; lines.len() * band.cols];
        out.par_chunks_mut(band.cols)
            .zip(lines)
            .for_each(|(line, l)| {
                let eph = SunEphemeris::at(model.line_instant(l as f64));
                let d2 = eph.distance_au * eph.distance_au;
                for (c, out) in line.iter_mut().enumerate() {
                    let (e, n, h) = locate(grid, self.world.dem, top, (l, c));
                    let (lon, lat) = self.local.lonlat(e, n);
                    let mu_s = eph.cos_zenith(lat, lon);
                    let column = self
                        .world
                        .sky
                        .as_ref()
                        .map(|s| s.clouds.column(e, n, h, |z| grid.position(l, c, z)));
                    let sky = column.as_ref().map(|col| (col, mu_s.max(1e-3)));
                    let rho = self.world.toa(e, n, h, b, sky);
                    let sun = mu_s.max(0.0) / d2;
                    *out = self.cal[b].signal(b, rho, sun) as f32;
                }
            });
        out
    }

    /// The forward grid of band `b`: its raw pixels' ground points at the DEM's heights
    /// (levels at most 500 m apart) and at the clouds' altitudes.
    fn grid(&self, b: usize) -> NodeGrid {
        let (lo, hi) = (self.heights.0 - 10.0, self.heights.1 + 10.0);
        let steps = ((hi - lo) / 500.0).ceil().max(1.0) as usize;
        let mut levels: Vec<f64> = (0..=steps)
            .map(|k| lo + (hi - lo) * k as f64 / steps as f64)
            .collect();
        if let Some(sky) = &self.world.sky {
            levels.extend(sky.clouds.altitudes().iter().map(|&(z, _)| z));
        }
        levels.sort_by(f64::total_cmp);
        levels.dedup_by(|a, b| (*a - *b).abs() < 1.0);
        let band = &self.l1a.bands[b];
        NodeGrid::forward(&self.acq.models[b], band.lines, band.cols, &levels)
    }

    /// Counts of band `b`, lines `lines`, from the signal reaching the detectors.
    fn counts(&self, b: usize, lines: std::ops::Range<usize>, signal: &[f32]) -> Vec<u16> {
        let cols = self.l1a.bands[b].cols;
        let first = self.acq.first_detector;
        let row0 = lines.start;
        signal
            .par_iter()
            .enumerate()
            .map(|(i, &s)| {
                let (l, c) = (row0 + i / cols, i % cols);
                self.cal[b].count_of_signal(
                    b,
                    first + c,
                    f64::from(s),
                    (self.seed, l as i64, c as i64),
                )
            })
            .collect()
    }

    fn create(&self, dir: &Path, b: usize, opts: &Options) -> Result<(gdal::Dataset, PathBuf)> {
        let band = &self.l1a.bands[b];
        let path = self.l1a.band_image_path(dir, &band.code);
        let mut spec = RasterSpec::new(band.cols, band.lines, 1, SampleType::U16);
        spec.band_descriptions = vec![format!("{} raw counts", band.code)];
        Ok((
            raster::create_geotiff(&path, &spec, &opts.creation_options)?,
            path,
        ))
    }

    /// The raw images without stray light, streamed in strips of lines.
    fn write(&self, dir: &Path, opts: &Options) -> Result<()> {
        let total: usize = self.acq.lines.iter().sum();
        let bar = progress(total as u64, "raw L1A");
        let ram = raster::budget_beside(opts.ram_bytes, self.world.held_bytes());
        for (b, band) in self.l1a.bands.iter().enumerate() {
            let (mut ds, path) = self.create(dir, b, opts)?;
            let grid = self.grid(b);
            let rows = raster::strip_rows(ram, band.cols, 2 * 4 + 2);
            for win in Strips::new(band.lines, rows.min(RAW_STRIP_LINES)) {
                let signal = self.signal(b, win.row..win.end(), &grid);
                let counts = self.counts(b, win.row..win.end(), &signal);
                raster::write_window(&mut ds, 1, (0, win.row), (band.cols, win.rows), &counts)?;
                bar.inc(win.rows as u64);
            }
            raster::finish(ds, &path)?;
        }
        bar.finish_and_clear();
        Ok(())
    }

    /// The raw images with stray light: the 12 bands' signals are held whole (the filters
    /// reach across the image and between bands), the stray terms added exactly (full
    /// resolution FFT convolution), then the detectors respond. `truth/RAW_Bnn.tif` receives
    /// the stray-light-free, noise-free counts and `truth/STRAY_Bnn.tif` the stray light
    /// itself, in counts, `truth/SIGNAL_Bnn.tif` the equalised signal that reaches the
    /// detectors without stray light.
    fn write_with_straylight(
        &self,
        dir: &Path,
        truth: &Path,
        filters: &[StrayLightFilters],
        opts: &Options,
    ) -> Result<()> {
        let pixels: usize = self.l1a.bands.iter().map(|b| b.lines * b.cols).sum();
        let largest = self
            .l1a
            .bands
            .iter()
            .map(|b| (b.lines + 256) * (b.cols + 256))
            .max()
            .unwrap_or(0);
        let need = (pixels * 8 + largest * 48) as u64;
        if need > opts.ram_bytes {
            return Err(VipError::Usage(format!(
                "--straylight needs about {} MB for this scene: raise --ram",
                need >> 20
            )));
        }
        let images: Vec<straylight::Image> = self
            .l1a
            .bands
            .iter()
            .enumerate()
            .map(|(b, band)| straylight::Image {
                cols: band.cols,
                rows: band.lines,
                width: band.cols,
                data: self.signal(b, 0..band.lines, &self.grid(b)),
            })
            .collect();
        let te = self.acq.bands[0].datation.te;
        let t0 = self.acq.bands[0].datation.time_ref;
        let filters: Vec<Option<StrayLightFilters>> = filters.iter().cloned().map(Some).collect();
        let op = straylight::Operator {
            filters: &filters,
            first_detector: self.acq.first_detector,
            line_offsets: self
                .acq
                .bands
                .iter()
                .map(|g| seconds_between(t0, g.datation.time_ref) / te)
                .collect(),
            factor: 1,
        };
        let stray = op.apply(&images);
        raster::ensure_dir(truth)?;
        for (b, band) in self.l1a.bands.iter().enumerate() {
            let observed: Vec<f32> = images[b]
                .data
                .iter()
                .zip(&stray[b].data)
                .map(|(s, d)| s + d)
                .collect();
            let (mut ds, path) = self.create(dir, b, opts)?;
            let counts = self.counts(b, 0..band.lines, &observed);
            raster::write_window(&mut ds, 1, (0, 0), (band.cols, band.lines), &counts)?;
            raster::finish(ds, &path)?;
            let first = self.acq.first_detector;
            let response =
                |i: usize, s: f32| self.cal[b].response(first + i % band.cols, f64::from(s));
            let clean: Vec<f32> = images[b]
                .data
                .iter()
                .enumerate()
                .map(|(i, &s)| response(i, s) as f32)
                .collect();
            let stray_counts: Vec<f32> = observed
                .iter()
                .zip(&clean)
                .enumerate()
                .map(|(i, (&o, &c))| (response(i, o) - f64::from(c)) as f32)
                .collect();
            for (what, data, name) in [
                ("counts without stray light or noise", &clean, "RAW"),
                ("stray light in counts (noise-free)", &stray_counts, "STRAY"),
                (
                    "equalised signal without stray light",
                    &images[b].data,
                    "SIGNAL",
                ),
            ] {
                let path = truth.join(format!("{name}_{}.tif", band.code));
                let mut spec = RasterSpec::new(band.cols, band.lines, 1, SampleType::F32);
                spec.band_descriptions = vec![format!("{} {what}", band.code)];
                let mut ds = raster::create_geotiff(&path, &spec, &opts.creation_options)?;
                raster::write_window(&mut ds, 1, (0, 0), (band.cols, band.lines), data)?;
                raster::finish(ds, &path)?;
            }
        }
        Ok(())
    }
}
