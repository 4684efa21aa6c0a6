//! The HTML report of a vip-qc run (`--report DIR`): `index.html` with the result tables and
//! PNG figures beside it, and `report.json` with each figure's data and each result. The page
//! is self-contained (relative image paths, no script, nothing fetched). The folder is built
//! under a temporary name and renamed when complete.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::compare::Comparison;
use super::geom::Geometry;
use super::input::{Group, Input, Layer, Role};
use super::plot::{Arrow, Figure, HistogramPanel, MapPanel, Plot, SeriesPanel};
use super::series::Series;
use super::stats::ProductStats;
use crate::error::{Result, VipError};
use crate::product::l2a::bits;
use crate::raster::{self, Staged};

/// Largest side, in cells, of a quicklook or a difference map.
const MAP_SIDE: usize = 256;

/// A report: a title and one section per product or comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub title: String,
    pub sections: Vec<Section>,
}

/// A part of a report: what was examined, its result and its figures.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub heading: String,
    /// The result as `--json` prints it.
    pub result: serde_json::Value,
    /// The result as the plain-text table.
    #[serde(skip)]
    pub table: String,
    pub figures: Vec<Figure>,
}

impl Section {
    /// A section on `result`, shown as `table`.
    pub fn new<T: Serialize>(heading: &str, result: &T, table: String) -> Result<Section> {
        Ok(Section {
            heading: heading.to_string(),
            result: serde_json::to_value(result)
                .map_err(|e| VipError::Internal(format!("JSON: {e}")))?,
            table,
            figures: Vec::new(),
        })
    }
}

/// Writes `report` into the folder `dir` (an existing one only with `overwrite`); returns its
/// path. Nothing partial stays on failure.
pub fn write(dir: &Path, overwrite: bool, report: &Report) -> Result<PathBuf> {
    let staged = Staged::dir(dir, overwrite)?;
    let mut report = report.clone();
    for (i, s) in report.sections.iter_mut().enumerate() {
        for f in &mut s.figures {
            f.file = format!("s{}-{}", i + 1, f.file);
            f.draw(&staged.path().join(&f.file))?;
        }
    }
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| VipError::Internal(format!("JSON: {e}")))?;
    let put = |name: &str, text: &str| {
        let p = staged.path().join(name);
        std::fs::write(&p, text).map_err(|e| VipError::output_io(staged.dest().join(name), &e))
    };
    put("report.json", &(json + "\n"))?;
    put("index.html", &html(&report))?;
    staged.commit()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page: title, then per section its heading, table and figures.
fn html(r: &Report) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
<style>\nbody {{ font-family: sans-serif; margin: 1em auto; max-width: 1100px; color: #222; }}\n\
pre {{ background: #f4f4f4; padding: 0.5em; overflow-x: auto; font-size: 12px; }}\n\
figure {{ margin: 1em 0; }}\nimg {{ max-width: 100%; height: auto; border: 1px solid #ccc; }}\n\
figcaption {{ font-size: 14px; color: #555; }}\n</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&r.title),
        esc(&r.title)
    );
    for s in &r.sections {
        out += &format!(
            "<section>\n<h2>{}</h2>\n<pre>{}</pre>\n",
            esc(&s.heading),
            esc(&s.table)
        );
        for f in &s.figures {
            out += &format!(
                "<figure>\n<img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{}\">\n<figcaption>{}</figcaption>\n</figure>\n",
                esc(&f.file),
                f.width,
                f.height,
                esc(&f.title),
                esc(&f.title)
            );
        }
        out += "</section>\n";
    }
    out += "<p>The data of every figure and each result: <a href=\"report.json\">report.json</a>.</p>\n</body>\n</html>\n";
    out
}

fn physical(l: &Layer, v: f64) -> f64 {
    v * l.scale.unwrap_or(1.0) + l.offset.unwrap_or(0.0)
}

/// Size of a subsample of a `w × h` grid whose longer side is at most [`MAP_SIDE`].
fn subsample(w: usize, h: usize) -> (usize, usize) {
    let k = w.max(h).div_ceil(MAP_SIDE).max(1);
    (w.div_ceil(k).max(1), h.div_ceil(k).max(1))
}

/// Physical values of `layers` (all of group `g`) on an `out` subsample (nearest), NaN where
/// invalid. Layers of one file are read together, so each block is decoded once.
fn read_subsampled(g: &Group, layers: &[&Layer], out: (usize, usize)) -> Result<Vec<Vec<f64>>> {
    let mut values = Vec::with_capacity(layers.len());
    let mut i = 0;
    while i < layers.len() {
        let path = &layers[i].path;
        let run = layers[i..].iter().take_while(|l| &l.path == path).count();
        let bands: Vec<usize> = layers[i..i + run].iter().map(|l| l.band).collect();
        let ds = raster::open(path)?;
        // Row by row, top to bottom: the rows sampled in a block row are read while its
        // blocks (every band of a pixel-interleaved tile) are in GDAL's cache.
        let mut planes = vec![Vec::with_capacity(out.0 * out.1); run];
        let mut row = vec![0f64; run * out.0];
        for oy in 0..out.1 {
            let y = ((oy as f64 + 0.5) * g.height as f64 / out.1 as f64) as usize;
            let y = y.min(g.height - 1);
            raster::read_bands_into(&ds, &bands, (0, y), (g.width, 1), (out.0, 1), &mut row)?;
            for (plane, r) in planes.iter_mut().zip(row.chunks(out.0)) {
                plane.extend_from_slice(r);
            }
        }
        for (l, plane) in layers[i..i + run].iter().zip(planes) {
            values.push(
                plane
                    .iter()
                    .map(|&v| {
                        if v.is_nan() || Some(v) == l.nodata {
                            f64::NAN
                        } else {
                            physical(l, v)
                        }
                    })
                    .collect(),
            );
        }
        i += run;
    }
    Ok(values)
}

/// The layers of a colour composite: B07, B04, B03 (red, green, blue) when the input has them
/// on one grid, else its first image layer in grey.
fn composite_layers(input: &Input) -> Option<(&Group, Vec<&Layer>)> {
    let rgb: Vec<_> = ["B07", "B04", "B03"]
        .iter()
        .filter_map(|n| input.layer(n))
        .collect();
    if rgb.len() == 3 && rgb.iter().all(|(g, _)| std::ptr::eq(*g, rgb[0].0)) {
        return Some((rgb[0].0, rgb.iter().map(|(_, l)| *l).collect()));
    }
    input.groups.iter().find_map(|g| {
        g.layers
            .iter()
            .find(|l| l.role != Role::Mask)
            .map(|l| (g, vec![l, l, l]))
    })
}

/// A colour quicklook of `input`, each channel stretched between its 2 % and 98 % values.
pub fn quicklook(input: &Input) -> Result<Option<Figure>> {
    let Some((g, layers)) = composite_layers(input) else {
        return Ok(None);
    };
    let out = subsample(g.width, g.height);
    let values = read_subsampled(g, &layers, out)?;
    let mut rgb = vec![0u8; 3 * out.0 * out.1];
    for (c, v) in values.iter().enumerate() {
        let mut sorted: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        let at = |p: f64| {
            sorted
                .get(((sorted.len() as f64 - 1.0) * p) as usize)
                .copied()
        };
        let (lo, hi) = (at(0.02).unwrap_or(0.0), at(0.98).unwrap_or(1.0));
        let range = if hi > lo { hi - lo } else { 1.0 };
        for (i, &x) in v.iter().enumerate() {
            if !x.is_nan() {
                rgb[3 * i + c] = (255.0 * ((x - lo) / range).clamp(0.0, 1.0)).round() as u8;
            }
        }
    }
    Ok(Some(Figure::new(
        "quicklook.png",
        &format!(
            "quicklook (R, G, B = {}, {}, {}; 2–98 % stretch)",
            layers[0].name, layers[1].name, layers[2].name
        ),
        Plot::Quicklook {
            width: out.0,
            height: out.1,
            bands: layers.iter().map(|l| l.name.clone()).collect(),
            rgb,
        },
    )))
}

/// The cloud, cloud shadow, snow and water masks of an L2A or L1C over its quicklook in grey
/// (nearest subsample): cloud (an L2A's CLD ALL_CLOUDS bit: the tests and their extension; an
/// L1C's CLD 1) red, cloud shadow (SHADOWS, SHADVAR) magenta, snow (MSK SNW) cyan, water (MSK
/// WAT) blue, each blended half over the grey.
pub fn mask_overlay(input: &Input) -> Result<Option<Figure>> {
    let (Some((g, cld)), Some(Figure { plot, .. })) = (input.layer("CLD"), quicklook(input)?)
    else {
        return Ok(None);
    };
    let Plot::Quicklook {
        width, height, rgb, ..
    } = plot
    else {
        return Ok(None);
    };
    if (width, height) != subsample(g.width, g.height) {
        return Ok(None);
    }
    let mut layers = vec![cld];
    layers.extend(input.layer("MSK").map(|(_, l)| l));
    let masks = read_subsampled(g, &layers, (width, height))?;
    let l2a = input.kind == super::Kind::L2a;
    let mut out = vec![0u8; rgb.len()];
    for i in 0..width * height {
        let grey = (rgb[3 * i..3 * i + 3]
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / 3.0)
            * 0.8;
        let c = masks[0][i];
        let c = if c.is_nan() { 0 } else { c as u8 };
        let m = masks
            .get(1)
            .map_or(0, |v| if v[i].is_nan() { 0 } else { v[i] as u8 });
        let colour: Option<[f64; 3]> = if (l2a && c & bits::CLD_ALL_CLOUDS != 0) || (!l2a && c == 1)
        {
            Some([255.0, 40.0, 40.0])
        } else if l2a && c & (bits::CLD_SHADOWS | bits::CLD_SHADVAR) != 0 {
            Some([220.0, 0.0, 220.0])
        } else if m & bits::MSK_SNW != 0 {
            Some([0.0, 230.0, 230.0])
        } else if m & bits::MSK_WAT != 0 {
            Some([30.0, 60.0, 255.0])
        } else {
            None
        };
        for k in 0..3 {
            let v = colour.map_or(grey, |col| 0.5 * grey + 0.5 * col[k]);
            out[3 * i + k] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(Some(Figure::new(
        "masks.png",
        "masks over the quicklook (grey): cloud red, cloud shadow magenta, snow cyan, water blue",
        Plot::Quicklook {
            width,
            height,
            bands: layers.iter().map(|l| l.name.clone()).collect(),
            rgb: out,
        },
    )))
}

/// The histograms of every band of `s` (physical units), the quicklook of `input` and, for an
/// L2A or L1C, its masks over the quicklook.
pub fn stats_figures(input: &Input, s: &ProductStats) -> Result<Vec<Figure>> {
    let panels: Vec<HistogramPanel> = s
        .bands
        .iter()
        .filter_map(|b| {
            let h = b.histogram.as_ref()?;
            let p = |v: f64| v * b.scale.unwrap_or(1.0) + b.offset.unwrap_or(0.0);
            Some(HistogramPanel {
                name: b.name.clone(),
                min: p(h.min),
                max: p(h.max),
                buckets: h.buckets.clone(),
            })
        })
        .collect();
    let mut figures = Vec::new();
    figures.extend(quicklook(input)?);
    if s.masks.is_some() {
        figures.extend(mask_overlay(input)?);
    }
    if !panels.is_empty() {
        figures.push(Figure::new(
            "histograms.png",
            "histograms of the valid pixels (physical units; 256 buckets as gdalinfo -hist)",
            Plot::Histograms { panels },
        ));
    }
    Ok(figures)
}

/// Maps of B − A for each compared image band, subsampled (nearest), on one scale.
pub fn compare_figures(a: &Input, b: &Input, c: &Comparison) -> Result<Vec<Figure>> {
    let mut panels = Vec::new();
    let mut size = (0, 0, 1.0);
    for d in c.bands.iter().filter(|d| d.role != Role::Mask) {
        let (Some((ga, la)), Some((_, lb))) = (
            a.layer(&d.name),
            b.layer(&d.b_name).or_else(|| {
                b.groups
                    .first()
                    .and_then(|g| g.layers.first().map(|l| (g, l)))
            }),
        ) else {
            continue;
        };
        let out = subsample(ga.width, ga.height);
        size = (out.0, out.1, ga.width as f64 / out.0 as f64);
        let va = read_subsampled(ga, &[la], out)?.remove(0);
        let vb = read_subsampled(ga, &[lb], out)?.remove(0);
        panels.push(MapPanel {
            name: d.name.clone(),
            values: va
                .iter()
                .zip(&vb)
                .map(|(x, y)| {
                    let v = y - x;
                    (!v.is_nan()).then_some(v)
                })
                .collect(),
        });
    }
    if panels.is_empty() {
        return Ok(Vec::new());
    }
    let limit = panels
        .iter()
        .flat_map(|p| p.values.iter().flatten())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let limit = if limit > 0.0 {
        limit
    } else {
        c.tolerance.max(1e-6)
    };
    Ok(vec![Figure::new(
        "difference.png",
        &format!(
            "B − A (physical units), one cell per {:.0} pixels; grey: invalid",
            size.2
        ),
        Plot::Maps {
            width: size.0,
            height: size.1,
            cell: size.2,
            limit,
            panels,
        },
    )])
}

/// The vector field of the shifts measured on `product`.
pub fn geom_figures(product: &Input, g: &Geometry) -> Vec<Figure> {
    let (w, h) = product
        .layer(&g.band)
        .map_or((1, 1), |(gr, _)| (gr.width, gr.height));
    let mut lengths: Vec<f64> = g
        .vectors
        .iter()
        .map(|v| v.dx.hypot(v.dy))
        .filter(|l| *l > 0.0)
        .collect();
    lengths.sort_by(f64::total_cmp);
    let median = lengths.get(lengths.len() / 2).copied().unwrap_or(1.0);
    let scale = (0.4 * g.step as f64 / median).clamp(1.0, 1000.0).round();
    vec![Figure::new(
        "shifts.png",
        &format!(
            "shift of {} against the reference, per window (arrows {scale:.0} times longer)",
            g.band
        ),
        Plot::Vectors {
            width: w,
            height: h,
            scale,
            arrows: g
                .vectors
                .iter()
                .map(|v| Arrow {
                    line: v.line,
                    col: v.col,
                    dx: v.dx,
                    dy: v.dy,
                    outlier: v.outlier,
                })
                .collect(),
        },
    )]
}

/// The mean of each band through time with its trend line, and the cloud percentage.
pub fn series_figures(s: &Series) -> Vec<Figure> {
    let times: Vec<f64> = s.dates.iter().map(|d| d.years).collect();
    let first = s
        .dates
        .first()
        .map_or(String::new(), |d| d.acquisition[..10].to_string());
    let mut panels: Vec<SeriesPanel> = s
        .bands
        .iter()
        .enumerate()
        .map(|(b, name)| SeriesPanel {
            name: name.clone(),
            values: s.dates.iter().map(|d| d.mean[b]).collect(),
            intercept: s.trends[b].intercept,
            slope: s.trends[b].slope_per_year,
        })
        .collect();
    if s.dates.iter().any(|d| d.cloud_percentage.is_some()) {
        panels.push(SeriesPanel {
            name: "cloud %".into(),
            values: s.dates.iter().map(|d| d.cloud_percentage).collect(),
            intercept: None,
            slope: None,
        });
    }
    if s.dates.iter().any(|d| d.aot.is_some()) {
        panels.push(SeriesPanel {
            name: "AOT".into(),
            values: s.dates.iter().map(|d| d.aot).collect(),
            intercept: None,
            slope: None,
        });
    }
    vec![Figure::new(
        "series.png",
        "mean over the stable clear pixels per date (blue) and least-squares trend (red)",
        Plot::Series {
            x_label: format!("years since {first}"),
            times,
            labels: s.dates.iter().map(|d| d.acquisition.clone()).collect(),
            panels,
        },
    )]
}
