//! Distribution packages (DESIGN.md §1–2, `vip-pack`): a native product turned into the
//! Theia/MUSCATE layout, with a SHA-256 manifest, optionally Cloud Optimized GeoTIFFs and a
//! deterministic zip, and the check of a package against its manifest.
//!
//! Layouts written (`<ID>` = `VENUS-XS_<yyyymmdd-hhmmss-mmm>_<level>_<SITE>_C_V1-0`): the L1C
//! package ([`l1c`]), the L2A package ([`l2a`]) and the L3A package ([`l3a`]), as
//! docs/formats.md lists them; all have
//! `<ID>_MTD_ALL.xml` (ee::muscate), `<ID>_QKL_ALL.jpg`, `MASKS/`, with `--stac`
//! `<ID>_STAC.json` ([`stac`]) and `MANIFEST.sha256` (SHA-256 of every other file).
//! `vip-pack index DIR` makes a folder of packages a static STAC catalog ([`index`]).
//! A product level plugs in as a [`Plan`]: the files to make from the native product and the
//! metadata that describes them ([`l1c::plan`], [`l2a::plan`], [`l3a::plan`]; [`site`] holds
//! what they share).

pub mod archive;
pub mod browse;
pub mod index;
pub mod l1c;
pub mod l2a;
pub mod l3a;
pub mod manifest;
pub mod site;
pub mod stac;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cli::Options;
use crate::ee::muscate::MtdAll;
use crate::error::{Result, VipError};
use crate::raster::{self, BandCopy, Layout, SampleType, Staged};

/// Name of the manifest inside a package folder.
pub const MANIFEST: &str = "MANIFEST.sha256";

/// What `vip-pack` is asked to make besides the folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackOptions {
    /// Write the package as `<ID>.zip` (deterministic) instead of a folder.
    pub zip: bool,
    /// Write every raster as a Cloud Optimized GeoTIFF.
    pub cog: bool,
    /// Write the STAC item `<ID>_STAC.json`.
    pub stac: bool,
}

/// One file of a package and how it is made.
#[derive(Debug, Clone)]
pub enum Job {
    /// One band of a native raster, copied.
    Band {
        src: PathBuf,
        copy: BandCopy,
        rel: String,
    },
    /// A byte mask computed pixel by pixel from bands of native rasters of one size; the
    /// metadata reports the `shares` measured on it as quality indexes.
    Mask {
        inputs: Vec<(PathBuf, usize)>,
        rule: MaskRule,
        shares: Vec<Share>,
        rel: String,
    },
    /// A whole native raster copied (every band, its type and nodata).
    Copy { src: PathBuf, rel: String },
    /// A single band computed pixel by pixel from bands of native rasters of one size
    /// (`data_type` U8 or I16, with its no-data value); the metadata reports the `shares`
    /// measured on it as quality indexes.
    Derive {
        inputs: Vec<(PathBuf, usize)>,
        rule: ValueRule,
        data_type: SampleType,
        nodata: Option<f64>,
        shares: Vec<ValueShare>,
        rel: String,
    },
    /// The RGB JPEG quicklook.
    Quicklook {
        src: PathBuf,
        rgb: [usize; 3],
        stretch: (f64, f64),
        nodata: Option<f64>,
        rel: String,
    },
}

impl Job {
    /// Path of the file in the package folder, `/`-separated.
    pub fn rel(&self) -> &str {
        match self {
            Job::Band { rel, .. }
            | Job::Mask { rel, .. }
            | Job::Copy { rel, .. }
            | Job::Derive { rel, .. }
            | Job::Quicklook { rel, .. } => rel,
        }
    }
}

/// How a [`Job::Mask`] pixel is made from its inputs' values at that pixel.
#[derive(Debug, Clone, PartialEq)]
pub enum MaskRule {
    /// 1 where any input equals the value (a no-data mask).
    AnyEquals(i16),
    /// Bit fields remapped: each `(input, bits, out)` sets the output bits `out` where input
    /// `input` has any of `bits`.
    Bits(Vec<(usize, i16, u8)>),
}

impl MaskRule {
    /// The mask value of one pixel whose input values are `v`.
    pub fn apply(&self, v: impl Fn(usize) -> i16, n: usize) -> u8 {
        match self {
            MaskRule::AnyEquals(x) => u8::from((0..n).any(|i| v(i) == *x)),
            MaskRule::Bits(map) => map
                .iter()
                .filter(|(i, bits, _)| v(*i) & bits != 0)
                .fold(0, |acc, (_, _, out)| acc | out),
        }
    }
}

/// How a [`Job::Derive`] pixel is made from its inputs' values at that pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRule {
    /// Input 0 as it is.
    Copy,
    /// Input 0 plus `add`; where input 0 is `from` (its no-data value), `to`.
    Shift { add: i16, from: i16, to: i16 },
    /// Input 0; where input `input` equals `equals`, `to`.
    ReplaceWhere { input: usize, equals: i16, to: i16 },
}

impl ValueRule {
    /// The value of one pixel whose input values are `v`.
    pub fn apply(&self, v: impl Fn(usize) -> i16) -> i16 {
        match *self {
            ValueRule::Copy => v(0),
            ValueRule::Shift { add, from, to } => {
                if v(0) == from {
                    to
                } else {
                    v(0).saturating_add(add)
                }
            }
            ValueRule::ReplaceWhere { input, equals, to } => {
                if v(input) == equals {
                    to
                } else {
                    v(0)
                }
            }
        }
    }
}

/// A quality index measured on a [`Job::Derive`] as it is made: the percentage of all its
/// pixels whose value is `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueShare {
    /// `QUALITY_INDEX` name in `MTD_ALL.xml`.
    pub index: &'static str,
    pub value: i16,
    pub format: ShareFormat,
}

/// A quality index measured on a [`Job::Mask`] as it is made: the percentage of the counted
/// pixels whose mask value has any of `bits`.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// `QUALITY_INDEX` name in `MTD_ALL.xml`.
    pub index: &'static str,
    pub bits: u8,
    /// Pixels not counted: those where input `.0` of the job has any of the bits `.1` (no
    /// data); `None` counts every pixel.
    pub skip: Option<(usize, i16)>,
    pub format: ShareFormat,
}

/// How a [`Share`] is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareFormat {
    /// With this many decimals.
    Decimals(usize),
    /// As MAJA writes `CloudPercent` and `SnowPercent`: the integer part (Python's `int()`
    /// of the percentage, maja_muscate_l2_header_writer.py).
    Integer,
    /// As WASP writes `CloudPercent` and `SnowPercent`: the nearest integer (`std::round`,
    /// ProductCreatorVenusMuscate.cpp).
    Rounded,
}

impl Share {
    /// The text of the index for `hits` pixels flagged among `counted`; 0 when none counted.
    pub fn text(&self, hits: u64, counted: u64) -> String {
        let p = if counted == 0 {
            0.0
        } else {
            100.0 * hits as f64 / counted as f64
        };
        match self.format {
            ShareFormat::Decimals(d) => crate::ee::muscate::dec(p, d),
            ShareFormat::Integer => format!("{}", p.trunc() as u64),
            ShareFormat::Rounded => format!("{}", p.round() as u64),
        }
    }
}

/// A package to make: its id (folder name), the files, the metadata and the STAC assets.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub jobs: Vec<Job>,
    pub mtd: MtdAll,
    pub assets: Vec<stac::Asset>,
}

/// File name of the MUSCATE metadata of package `id`.
pub fn mtd_name(id: &str) -> String {
    format!("{id}_MTD_ALL.xml")
}

/// True when `rel` is a plain relative path that stays inside its folder: not empty, not
/// absolute, no drive letter or backslash, no `.`/`..` or empty component.
pub fn is_safe_relative(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && !rel.contains('\\')
        && !rel.contains(':')
        && !rel.contains('\0')
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Packages every input product; returns the path of each package written.
pub fn run(inputs: &[PathBuf], pack: &PackOptions, opts: &Options) -> Result<Vec<PathBuf>> {
    inputs.iter().map(|p| package(p, pack, opts)).collect()
}

/// Packages the native product whose global header is `product` into `opts.output`.
pub fn package(product: &Path, pack: &PackOptions, opts: &Options) -> Result<PathBuf> {
    let started = std::time::Instant::now();
    let plan = plan_for(product)?;
    for rel in plan
        .jobs
        .iter()
        .map(Job::rel)
        .chain([plan.id.as_str(), MANIFEST])
    {
        if !is_safe_relative(rel) || (rel == plan.id && rel.contains('/')) {
            return Err(VipError::bad_input(
                product,
                format!("would make the file name '{rel}', outside the output folder"),
            ));
        }
    }
    raster::ensure_dir(&opts.output)?;
    let zip_stage = if pack.zip {
        Some(Staged::file(
            &opts.output.join(format!("{}.zip", plan.id)),
            opts.overwrite,
        )?)
    } else {
        None
    };
    // In zip mode the folder is only a workspace: it never replaces anything.
    let dir_stage = Staged::dir(&opts.output.join(&plan.id), opts.overwrite || pack.zip)?;
    let root = dir_stage.path().to_path_buf();
    let measured = make_files(&plan, &root, pack, opts)?;
    let mut mtd = plan.mtd.clone();
    mtd.quality_indexes.extend(measured);
    write_text(&root.join(mtd_name(&plan.id)), &mtd.to_xml())?;
    let mut hashes = manifest::hash_files(&root)?;
    if pack.stac {
        let files = hashes
            .iter()
            .map(|(rel, sha256)| {
                let p = root.join(rel);
                let size = std::fs::metadata(&p)
                    .map_err(|e| VipError::input_io(&p, &e))?
                    .len();
                Ok((
                    rel.clone(),
                    stac::FileInfo {
                        sha256: sha256.clone(),
                        size,
                    },
                ))
            })
            .collect::<Result<_>>()?;
        let name = stac::item_name(&plan.id);
        let text = stac::to_text(&stac::item(&plan, &mtd, &files, pack.cog)?);
        write_text(&root.join(&name), &text)?;
        let sha = manifest::sha256_reader(text.as_bytes())
            .map_err(|e| VipError::Internal(format!("hashing the item: {e}")))?;
        hashes.insert(name, sha);
    }
    manifest::write_entries(&root, &hashes)?;
    let out = match zip_stage {
        Some(z) => {
            archive::write_zip(&root, &plan.id, z.path())?;
            drop(dir_stage);
            z.commit()?
        }
        None => dir_stage.commit()?,
    };
    log::info!(
        "{}: packaged in {:.1} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// The plan for a native product, by the kind its header declares: an L1C, an L2A or an L3A;
/// any other product is bad input naming its header.
pub fn plan_for(product: &Path) -> Result<Plan> {
    crate::cli::require_exists(product)?;
    let doc = crate::ee::EeDoc::read(product)?;
    match doc.fixed.file_type.as_str() {
        crate::product::l1c::FILE_TYPE => {
            let l1c = crate::product::l1c::L1c::open(product)?;
            l1c::plan(&l1c, product)
        }
        // an L2NOTV header is refused by L2a::open, saying why
        crate::product::l2a::FILE_TYPE | crate::product::l2a::FILE_TYPE_NOTV => {
            let l2a = crate::product::l2a::L2a::open(product)?;
            l2a::plan(&l2a, product)
        }
        crate::product::l3a::FILE_TYPE => {
            let l3a = crate::product::l3a::L3a::open(product)?;
            l3a::plan(&l3a, product)
        }
        other => Err(VipError::bad_input(
            product,
            format!(
                "is a {other} product: vip-pack packages L1C ({}), L2A ({}) and L3A ({}) products",
                crate::product::l1c::FILE_TYPE,
                crate::product::l2a::FILE_TYPE,
                crate::product::l3a::FILE_TYPE
            ),
        )),
    }
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| VipError::output_io(path, &e))
}

/// Makes the files of `plan` under `root`; returns the quality indexes measured on the masks
/// ([`Share`]), in job order.
fn make_files(
    plan: &Plan,
    root: &Path,
    pack: &PackOptions,
    opts: &Options,
) -> Result<Vec<(String, String)>> {
    for job in &plan.jobs {
        if let Some(parent) = root.join(job.rel()).parent() {
            raster::ensure_dir(parent)?;
        }
    }
    let layout = if pack.cog {
        Layout::Cog
    } else {
        Layout::GeoTiff
    };
    let co = &opts.creation_options;
    let ram = (opts.ram_bytes / opts.threads.max(1) as u64).max(16 << 20);
    // Band copies read their bands from a one-pass split of each multi-band source (a
    // compressed pixel-interleaved image would be decompressed whole for every band).
    let split_dir = root.join(".bands");
    let jobs = split_sources(&plan.jobs, &split_dir, opts.ram_bytes)?;
    let results: Vec<Result<Vec<(String, String)>>> = jobs
        .par_iter()
        .map(|job| {
            let dst = root.join(job.rel());
            match job {
                Job::Band { src, copy, .. } => {
                    raster::copy_band(src, copy, &dst, layout, co).map(|()| Vec::new())
                }
                Job::Copy { src, .. } => {
                    raster::copy_raster(src, &dst, layout, co).map(|()| Vec::new())
                }
                Job::Mask {
                    inputs,
                    rule,
                    shares,
                    ..
                } => {
                    // Per share: pixels flagged and pixels counted (integer sums: the same
                    // whatever the strip order).
                    let counts = std::sync::Mutex::new(vec![(0u64, 0u64); shares.len()]);
                    // The mask code of `MASKS/<ID>_<code>_XS.tif`.
                    let name = job.rel().rsplit('_').nth(1).unwrap_or_default();
                    raster::derive_mask(inputs, &dst, (layout, co), ram, name, |s, out| {
                        let mut local = vec![(0u64, 0u64); shares.len()];
                        for (i, o) in out.iter_mut().enumerate() {
                            *o = rule.apply(|k| s[k][i], s.len());
                            for (share, c) in shares.iter().zip(local.iter_mut()) {
                                if share.skip.is_some_and(|(k, b)| s[k][i] & b != 0) {
                                    continue;
                                }
                                c.1 += 1;
                                c.0 += u64::from(*o & share.bits != 0);
                            }
                        }
                        let mut total = counts.lock().unwrap_or_else(|e| e.into_inner());
                        for (t, l) in total.iter_mut().zip(local) {
                            t.0 += l.0;
                            t.1 += l.1;
                        }
                    })?;
                    let counts = counts.into_inner().unwrap_or_else(|e| e.into_inner());
                    Ok(shares
                        .iter()
                        .zip(counts)
                        .map(|(share, (hits, counted))| {
                            (share.index.to_string(), share.text(hits, counted))
                        })
                        .collect())
                }
                Job::Derive {
                    inputs,
                    rule,
                    data_type,
                    nodata,
                    shares,
                    ..
                } => {
                    let what = (job.rel().rsplit('_').nth(1).unwrap_or_default(), *nodata);
                    let counts = std::sync::Mutex::new((vec![0u64; shares.len()], 0u64));
                    // The values of one strip, counted for the shares.
                    let values = |s: &[Vec<i16>]| -> Vec<i16> {
                        let n = s.first().map_or(0, Vec::len);
                        let v: Vec<i16> = (0..n).map(|i| rule.apply(|k| s[k][i])).collect();
                        let mut total = counts.lock().unwrap_or_else(|e| e.into_inner());
                        for (share, t) in shares.iter().zip(total.0.iter_mut()) {
                            *t += v.iter().filter(|&&x| x == share.value).count() as u64;
                        }
                        total.1 += n as u64;
                        v
                    };
                    match data_type {
                        SampleType::U8 => raster::derive_band::<u8>(
                            inputs,
                            &dst,
                            (layout, co),
                            ram,
                            what,
                            |s, out| {
                                for (o, v) in out.iter_mut().zip(values(s)) {
                                    *o = v.clamp(0, 255) as u8;
                                }
                            },
                        ),
                        SampleType::I16 => raster::derive_band::<i16>(
                            inputs,
                            &dst,
                            (layout, co),
                            ram,
                            what,
                            |s, out| out.copy_from_slice(&values(s)),
                        ),
                        t => Err(VipError::Internal(format!(
                            "{}: a derived band of type {t:?}",
                            job.rel()
                        ))),
                    }?;
                    let (hits, all) = counts.into_inner().unwrap_or_else(|e| e.into_inner());
                    Ok(shares
                        .iter()
                        .zip(hits)
                        .map(|(share, h)| {
                            let text = Share {
                                index: share.index,
                                bits: 0,
                                skip: None,
                                format: share.format,
                            }
                            .text(h, all);
                            (share.index.to_string(), text)
                        })
                        .collect())
                }
                Job::Quicklook {
                    src,
                    rgb,
                    stretch,
                    nodata,
                    ..
                } => raster::quicklook_jpeg(src, *rgb, &dst, 1000, *stretch, *nodata)
                    .map(|()| Vec::new()),
            }
        })
        .collect();
    if split_dir.exists() {
        std::fs::remove_dir_all(&split_dir).map_err(|e| VipError::output_io(&split_dir, &e))?;
    }
    let mut measured = Vec::new();
    for r in results {
        measured.extend(r?);
    }
    Ok(measured)
}

/// `jobs` with every band copy from a source that two or more band copies read redirected to
/// band 1 of that source's split file in `dir` ([`raster::split_bands`]).
fn split_sources(jobs: &[Job], dir: &Path, ram_bytes: u64) -> Result<Vec<Job>> {
    let mut uses: std::collections::BTreeMap<&Path, usize> = Default::default();
    for job in jobs {
        if let Job::Band { src, .. } = job {
            *uses.entry(src.as_path()).or_default() += 1;
        }
    }
    let mut split: std::collections::BTreeMap<&Path, Vec<PathBuf>> = Default::default();
    for (k, (src, n)) in uses.into_iter().enumerate() {
        if n >= 2 {
            let d = dir.join(k.to_string());
            raster::ensure_dir(&d)?;
            split.insert(src, raster::split_bands(src, &d, ram_bytes)?);
        }
    }
    jobs.iter()
        .map(|job| match job {
            Job::Band { src, copy, rel } => match split.get(src.as_path()) {
                Some(files) => {
                    let file = files.get(copy.band.wrapping_sub(1)).ok_or_else(|| {
                        VipError::bad_input(src, format!("has no band {}", copy.band))
                    })?;
                    Ok(Job::Band {
                        src: file.clone(),
                        copy: BandCopy {
                            band: 1,
                            ..copy.clone()
                        },
                        rel: rel.clone(),
                    })
                }
                None => Ok(job.clone()),
            },
            _ => Ok(job.clone()),
        })
        .collect()
}
