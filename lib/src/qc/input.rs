//! What vip-qc reads: a product given by its global header (L2A, L1C, raw L1A) or any raster
//! GDAL opens, turned into the list of raster layers to examine and the masks that qualify them.

use std::path::{Path, PathBuf};

use crate::ee::EeDoc;
use crate::error::{Result, VipError};
use crate::product::{l1a, l1c, l2a, L1a, L1c, L2a};
use crate::raster::{self, SampleType};

/// What kind of input a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Kind {
    /// An L2A product (global `.HDR`).
    L2a,
    /// An L1C product (global `.HDR`).
    L1c,
    /// A raw L1A product (global `.HDR`).
    L1a,
    /// Any single raster file GDAL opens.
    Raster,
}

/// What a layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Scaled TOA or surface reflectance.
    Reflectance,
    /// Raw counts.
    Counts,
    /// A bit-field or class mask.
    Mask,
    /// Anything else.
    Other,
}

/// A raster band to examine.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// `B01`, `SAT`, `band 3`, ...
    pub name: String,
    pub path: PathBuf,
    /// 1-based band in `path`.
    pub band: usize,
    pub role: Role,
    /// 0-based spectral band index (`Bn` ⇒ n−1), which selects the bit in the SAT/PIX masks.
    pub spectral: Option<usize>,
    pub sample: SampleType,
    pub nodata: Option<f64>,
    /// physical = raw × scale + offset.
    pub scale: Option<f64>,
    pub offset: Option<f64>,
}

/// A band of a raster, 1-based.
pub type BandRef = (PathBuf, usize);

/// Layers sharing one grid (width × height), and the masks on that grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub width: usize,
    pub height: usize,
    pub geo_transform: [f64; 6],
    pub layers: Vec<Layer>,
    /// Saturation bit mask: bit n−1 set when band Bn is saturated.
    pub sat: Option<BandRef>,
    /// Defective-pixel bit mask, bit n−1 for band Bn.
    pub pix: Option<BandRef>,
    /// Cloud mask: 0 clear, 1 cloud (an L1C's CLD band); an L2A's CLD annex holds the bits
    /// `product::l2a::bits::CLD_*`.
    pub cld: Option<BandRef>,
    /// Geophysical mask (an L2A's MSK: bits `MSK_*`, water and snow among them).
    pub msk: Option<BandRef>,
    /// Other quality bits (an L2A's QLT OTH: `OTH_EDG` marks the edges).
    pub oth: Option<BandRef>,
    /// Aerosol optical thickness (scale and nodata in the layer): an L2A's ATB layer.
    pub aot: Option<Layer>,
}

/// An opened input.
#[derive(Debug, Clone)]
pub struct Input {
    /// The path given.
    pub path: PathBuf,
    pub kind: Kind,
    /// Product id, or the file name of a raster.
    pub id: String,
    pub groups: Vec<Group>,
    /// The L1C header model, for an L1C.
    pub l1c: Option<L1c>,
    /// The L1A header model, for an L1A.
    pub l1a: Option<L1a>,
    /// The L2A header model, for an L2A.
    pub l2a: Option<L2a>,
    /// The native view of a MUSCATE product given as input, kept while the input is used.
    pub view: Option<std::sync::Arc<crate::product::muscate::Input>>,
}

impl Input {
    /// The cloud percentage the product's header declares: `None` when it declares none
    /// (`NIL=N/A`: no cloud detection ran, its cloud mask is a placeholder) or has no header
    /// that could. Where it is `None`, cloud cover is not measured.
    pub fn declared_cloud_percentage(&self) -> Option<f64> {
        (self.l1c.as_ref().and_then(|h| h.site.cloud_percentage))
            .or_else(|| self.l2a.as_ref().and_then(|h| h.site.cloud_percentage))
    }

    /// Opens `path`: an EE global header (`.HDR`) of an L1C or L1A, or a raster. A missing or
    /// unreadable file, an unknown header type or a missing band file is a bad input naming it.
    pub fn open(path: &Path) -> Result<Input> {
        if crate::product::muscate::is_muscate(path) {
            let view = crate::product::muscate::Input::open(path, &["L1C", "L2A"])?;
            let mut input = Input::open(&view.hdr)?;
            input.path = path.to_path_buf();
            input.view = Some(std::sync::Arc::new(view));
            return Ok(input);
        }
        let is_hdr = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("hdr"));
        if !is_hdr {
            return Input::raster(path);
        }
        crate::cli::require_exists(path)?;
        let doc = EeDoc::read(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        match doc.fixed.file_type.as_str() {
            l1c::FILE_TYPE => {
                let p = L1c::open(path)?;
                let image = p.image_path(dir);
                let spec = spec_of(&image)?;
                if spec.0.bands != l1c::IMAGE_BANDS.len() {
                    return Err(VipError::bad_input(
                        &image,
                        format!(
                            "has {} bands, an L1C image has {}",
                            spec.0.bands,
                            l1c::IMAGE_BANDS.len()
                        ),
                    ));
                }
                let layers = l1c::IMAGE_BANDS
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let mask = i + 1 >= l1c::SAT_BAND;
                        Layer {
                            name: name.to_string(),
                            path: image.clone(),
                            band: i + 1,
                            role: if mask { Role::Mask } else { Role::Reflectance },
                            spectral: (!mask).then_some(i),
                            sample: spec.0.data_type,
                            nodata: if mask {
                                None
                            } else {
                                Some(f64::from(p.site.nodata))
                            },
                            scale: (!mask).then_some(p.site.quantification),
                            offset: None,
                        }
                    })
                    .collect();
                let group = Group {
                    width: spec.0.width,
                    height: spec.0.height,
                    geo_transform: spec.0.geo_transform,
                    layers,
                    sat: Some((image.clone(), l1c::SAT_BAND)),
                    pix: Some((image.clone(), l1c::PIX_BAND)),
                    cld: Some((image.clone(), l1c::CLD_BAND)),
                    msk: None,
                    oth: None,
                    aot: None,
                };
                Ok(Input {
                    path: path.to_path_buf(),
                    kind: Kind::L1c,
                    id: p.global_id(),
                    groups: vec![group],
                    l1c: Some(p),
                    l1a: None,
                    l2a: None,
                    view: None,
                })
            }
            l1a::FILE_TYPE => {
                let p = L1a::open(path)?;
                let mut groups: Vec<Group> = Vec::new();
                for b in &p.bands {
                    let file = p.band_image_path(dir, &b.code);
                    let (spec, _) = spec_of(&file)?;
                    let layer = Layer {
                        name: b.code.clone(),
                        path: file,
                        band: 1,
                        role: Role::Counts,
                        spectral: band_index(&b.code),
                        sample: spec.data_type,
                        nodata: spec.nodata,
                        scale: spec.scale,
                        offset: spec.offset,
                    };
                    match groups
                        .iter_mut()
                        .find(|g| (g.width, g.height) == (spec.width, spec.height))
                    {
                        Some(g) => g.layers.push(layer),
                        None => groups.push(Group {
                            width: spec.width,
                            height: spec.height,
                            geo_transform: spec.geo_transform,
                            layers: vec![layer],
                            sat: None,
                            pix: None,
                            cld: None,
                            msk: None,
                            oth: None,
                            aot: None,
                        }),
                    }
                }
                Ok(Input {
                    path: path.to_path_buf(),
                    kind: Kind::L1a,
                    id: p.global_id(),
                    groups,
                    l1c: None,
                    l1a: Some(p),
                    l2a: None,
                    view: None,
                })
            }
            // an L2NOTV header is refused by L2a::open, saying why
            l2a::FILE_TYPE | l2a::FILE_TYPE_NOTV => Input::l2a(path, dir),
            other => Err(VipError::bad_input(
                path,
                format!(
                    "File_Type {other} is not a product vip-qc reads (L2A, L1C, L1A or a raster)"
                ),
            )),
        }
    }

    fn raster(path: &Path) -> Result<Input> {
        let (spec, _) = spec_of(path)?;
        let layers = (1..=spec.bands)
            .map(|b| {
                let desc = spec
                    .band_descriptions
                    .get(b - 1)
                    .filter(|d| !d.is_empty())
                    .cloned();
                let name = desc.unwrap_or_else(|| format!("band {b}"));
                Layer {
                    spectral: band_index(&name),
                    name,
                    path: path.to_path_buf(),
                    band: b,
                    role: Role::Other,
                    sample: spec.data_type,
                    nodata: spec.nodata,
                    scale: spec.scale,
                    offset: spec.offset,
                }
            })
            .collect();
        Ok(Input {
            path: path.to_path_buf(),
            kind: Kind::Raster,
            id: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            groups: vec![Group {
                width: spec.width,
                height: spec.height,
                geo_transform: spec.geo_transform,
                layers,
                sat: None,
                pix: None,
                cld: None,
                msk: None,
                oth: None,
                aot: None,
            }],
            l1c: None,
            l1a: None,
            l2a: None,
            view: None,
        })
    }

    /// The layers of an L2A: SRE (`B01`…) and FRE (`FRE_B01`…) reflectances, ATB water vapour
    /// and AOT, and its QLT, MSK and CLD masks; SAT and PIX from QLT, clouds from CLD.
    fn l2a(path: &Path, dir: &Path) -> Result<Input> {
        /// Name, role, spectral band, scale and nodata of each band of a file.
        type Bands = Vec<(String, Role, Option<usize>, Option<f64>, Option<f64>)>;
        let p = L2a::open(path)?;
        let mut layers = Vec::new();
        let mut grid: Option<raster::RasterSpec> = None;
        let mut add = |file: PathBuf, names: Bands| -> Result<()> {
            let (spec, _) = spec_of(&file)?;
            if spec.bands != names.len() {
                return Err(VipError::bad_input(
                    &file,
                    format!("has {} bands, {} expected", spec.bands, names.len()),
                ));
            }
            if let Some(g) = &grid {
                if (g.width, g.height) != (spec.width, spec.height) {
                    return Err(VipError::bad_input(
                        &file,
                        format!(
                            "is {} × {}, the SRE {} × {}",
                            spec.width, spec.height, g.width, g.height
                        ),
                    ));
                }
            }
            for (k, (name, role, spectral, scale, nodata)) in names.into_iter().enumerate() {
                layers.push(Layer {
                    name,
                    path: file.clone(),
                    band: k + 1,
                    role,
                    spectral,
                    sample: spec.data_type,
                    nodata,
                    scale,
                    offset: None,
                });
            }
            grid.get_or_insert(spec);
            Ok(())
        };
        let refl = |prefix: &str| -> Bands {
            l2a::IMAGE_BANDS
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    (
                        format!("{prefix}{b}"),
                        Role::Reflectance,
                        Some(i),
                        Some(p.site.quantification),
                        Some(f64::from(p.site.nodata)),
                    )
                })
                .collect()
        };
        add(p.image_path(dir, l2a::IMAGE_SRE), refl(""))?;
        add(p.image_path(dir, l2a::IMAGE_FRE), refl("FRE_"))?;
        let atb = p.annex_path(dir, l2a::ANNEX_ATB);
        add(
            atb.clone(),
            vec![
                (
                    "VAP".into(),
                    Role::Other,
                    None,
                    Some(p.vap_quantification),
                    Some(f64::from(p.vap_nodata)),
                ),
                (
                    "AOT".into(),
                    Role::Other,
                    None,
                    Some(p.aot_quantification),
                    Some(f64::from(p.aot_nodata)),
                ),
            ],
        )?;
        let qlt = p.annex_path(dir, l2a::ANNEX_QLT);
        let mask = |n: &str| (n.to_string(), Role::Mask, None, None, None);
        add(
            qlt.clone(),
            l2a::QLT_BANDS.iter().map(|n| mask(n)).collect(),
        )?;
        let msk = p.annex_path(dir, l2a::ANNEX_MSK);
        add(msk.clone(), vec![mask("MSK")])?;
        let cld = p.annex_path(dir, l2a::ANNEX_CLD);
        add(cld.clone(), vec![mask("CLD")])?;
        let grid = grid.expect("the SRE was read");
        let aot = layers.iter().find(|l| l.name == "AOT").cloned();
        Ok(Input {
            path: path.to_path_buf(),
            kind: Kind::L2a,
            id: p.global_id(),
            groups: vec![Group {
                width: grid.width,
                height: grid.height,
                geo_transform: grid.geo_transform,
                layers,
                sat: Some((qlt.clone(), l2a::QLT_SAT_BAND)),
                pix: Some((qlt.clone(), l2a::QLT_PIX_BAND)),
                cld: Some((cld, 1)),
                msk: Some((msk, 1)),
                oth: Some((qlt, l2a::QLT_OTH_BAND)),
                aot,
            }],
            l1c: None,
            l1a: None,
            l2a: Some(p),
            view: None,
        })
    }

    /// Every layer, in input order.
    pub fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.groups.iter().flat_map(|g| g.layers.iter())
    }

    /// The layer named `name` (case-insensitive), with its group.
    pub fn layer(&self, name: &str) -> Option<(&Group, &Layer)> {
        self.groups.iter().find_map(|g| {
            g.layers
                .iter()
                .find(|l| l.name.eq_ignore_ascii_case(name))
                .map(|l| (g, l))
        })
    }
}

/// `B07` ⇒ Some(6).
fn band_index(name: &str) -> Option<usize> {
    let n: usize = name.strip_prefix('B')?.parse().ok()?;
    (1..=12).contains(&n).then(|| n - 1)
}

/// The spec of the raster at `path` and its path; unreadable is a bad input naming it.
fn spec_of(path: &Path) -> Result<(raster::RasterSpec, PathBuf)> {
    let ds = raster::open(path)?;
    Ok((raster::spec_like(&ds)?, path.to_path_buf()))
}

/// Datasets opened by one worker, one per distinct file (a GDAL handle is not `Sync`).
#[derive(Default)]
pub(crate) struct Handles(Vec<(PathBuf, gdal::Dataset)>);

impl Handles {
    /// Index of the handle of `path`, opening it on first use.
    pub(crate) fn index(&mut self, path: &Path) -> Result<usize> {
        if let Some(i) = self.0.iter().position(|(p, _)| p == path) {
            return Ok(i);
        }
        self.0.push((path.to_path_buf(), raster::open(path)?));
        Ok(self.0.len() - 1)
    }

    pub(crate) fn ds(&self, i: usize) -> &gdal::Dataset {
        &self.0[i].1
    }

    /// The handle of `path`, opening it on first use.
    pub(crate) fn get(&mut self, path: &Path) -> Result<&gdal::Dataset> {
        let i = self.index(path)?;
        Ok(self.ds(i))
    }
}
