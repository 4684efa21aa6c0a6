//! The figures of a QC report: their data (serialised into `report.json`) and their drawing
//! as PNG (plotters' bitmap backend).

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use crate::error::{Result, VipError};

/// One bar chart of a histogram.
#[derive(Debug, Clone, Serialize)]
pub struct HistogramPanel {
    pub name: String,
    /// Lower edge of the first bucket and upper edge of the last, physical units.
    pub min: f64,
    pub max: f64,
    pub buckets: Vec<u64>,
}

/// One map of a set.
#[derive(Debug, Clone, Serialize)]
pub struct MapPanel {
    pub name: String,
    /// Row-major, `width × height` cells of the figure; null where there is no value.
    pub values: Vec<Option<f64>>,
}

/// One shift vector, pixels.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Arrow {
    pub line: f64,
    pub col: f64,
    pub dx: f64,
    pub dy: f64,
    pub outlier: bool,
}

/// The values of one band through time, with its trend line.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesPanel {
    pub name: String,
    /// One per time (null where none).
    pub values: Vec<Option<f64>>,
    /// Trend line: value at t = 0 and slope per unit of t.
    pub intercept: Option<f64>,
    pub slope: Option<f64>,
}

/// What a figure shows, with the data it is drawn from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Plot {
    /// One bar chart per band.
    Histograms { panels: Vec<HistogramPanel> },
    /// A colour composite: row-major RGB bytes, `width × height` (a subsample of the image).
    Quicklook {
        width: usize,
        height: usize,
        /// The bands shown as red, green and blue.
        bands: Vec<String>,
        rgb: Vec<u8>,
    },
    /// Maps of signed values on a common blue–white–red scale from −limit to +limit; each
    /// cell is `cell` pixels of the image on a side.
    Maps {
        width: usize,
        height: usize,
        cell: f64,
        limit: f64,
        panels: Vec<MapPanel>,
    },
    /// Shift vectors on the image plane (`width × height` pixels), drawn `scale` times longer.
    Vectors {
        width: usize,
        height: usize,
        scale: f64,
        arrows: Vec<Arrow>,
    },
    /// Values through time (`times`, labelled by `labels`), one panel per band.
    Series {
        x_label: String,
        times: Vec<f64>,
        labels: Vec<String>,
        panels: Vec<SeriesPanel>,
    },
}

/// A figure of a report: a PNG file and what it shows.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// File name of the PNG in the report folder.
    pub file: String,
    pub title: String,
    /// Size of the PNG, pixels.
    pub width: u32,
    pub height: u32,
    #[serde(flatten)]
    pub plot: Plot,
}

impl Figure {
    /// A figure of `plot` saved as `file`, sized for its content.
    pub fn new(file: &str, title: &str, plot: Plot) -> Figure {
        let rows = |n: usize, cols: usize| n.div_ceil(cols).max(1) as u32;
        let (width, height) = match &plot {
            Plot::Histograms { panels } => (1050, 230 * rows(panels.len(), 3)),
            Plot::Quicklook { width, height, .. } => {
                let k = (512 / (*width).max(*height).max(1)).max(1);
                ((width * k) as u32, (height * k) as u32)
            }
            Plot::Maps { panels, .. } => (1050, 330 * rows(panels.len(), 3) + 60),
            Plot::Vectors { .. } => (760, 760),
            Plot::Series { panels, .. } => (1050, 260 * rows(panels.len(), 3)),
        };
        Figure {
            file: file.to_string(),
            title: title.to_string(),
            width,
            height,
            plot,
        }
    }

    /// Draws the figure into `path` (PNG). Failures are output errors naming the file.
    pub fn draw(&self, path: &Path) -> Result<()> {
        self.draw_png(path)
            .map_err(|e| VipError::output(path, format!("cannot draw the figure: {e}")))
    }

    fn draw_png(&self, path: &Path) -> std::result::Result<(), Box<dyn Error>> {
        let root = BitMapBackend::new(path, (self.width, self.height)).into_drawing_area();
        root.fill(&WHITE)?;
        match &self.plot {
            Plot::Histograms { panels } => histograms(&root, panels)?,
            Plot::Quicklook {
                width, height, rgb, ..
            } => quicklook(&root, *width, *height, rgb)?,
            Plot::Maps {
                width,
                height,
                cell,
                limit,
                panels,
            } => maps(&root, (*width, *height), *cell, *limit, panels)?,
            Plot::Vectors {
                width,
                height,
                scale,
                arrows,
            } => vectors(&root, (*width, *height), *scale, arrows)?,
            Plot::Series {
                x_label,
                times,
                panels,
                ..
            } => series(&root, x_label, times, panels)?,
        }
        root.present()?;
        Ok(())
    }
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type Drawn = std::result::Result<(), Box<dyn Error>>;

const FONT: &str = "sans-serif";

/// Tick labels with enough decimals to tell apart ticks over `lo..hi`.
fn ticks(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let decimals = (2.0 - (hi - lo).abs().max(1e-12).log10().floor()).clamp(0.0, 12.0) as usize;
    move |v: &f64| format!("{v:.decimals$}")
}

fn counts(v: &f64) -> String {
    format!("{v:.0}")
}

/// Bounds of `v` widened when empty or flat.
fn span(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = v
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        let d = lo.abs().max(1.0) * 1e-3;
        (lo - d, hi + d)
    } else {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    }
}

fn histograms(root: &Area, panels: &[HistogramPanel]) -> Drawn {
    let cells = root.split_evenly((panels.len().div_ceil(3).max(1), 3));
    for (p, area) in panels.iter().zip(cells.iter()) {
        let top = p.buckets.iter().copied().max().unwrap_or(0).max(1) as f64;
        let (lo, hi) = if p.max > p.min {
            (p.min, p.max)
        } else {
            span([p.min, p.max].into_iter())
        };
        let mut chart = ChartBuilder::on(area)
            .caption(&p.name, (FONT, 16))
            .margin(6)
            .x_label_area_size(22)
            .y_label_area_size(52)
            .build_cartesian_2d(lo..hi, 0.0..top * 1.05)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(4)
            .x_label_formatter(&ticks(lo, hi))
            .y_label_formatter(&counts)
            .label_style((FONT, 11))
            .disable_mesh()
            .draw()?;
        let w = (hi - lo) / p.buckets.len().max(1) as f64;
        chart.draw_series(p.buckets.iter().enumerate().filter(|(_, &c)| c > 0).map(
            |(i, &c)| {
                let x0 = lo + i as f64 * w;
                Rectangle::new([(x0, 0.0), (x0 + w, c as f64)], BLUE.mix(0.75).filled())
            },
        ))?;
    }
    Ok(())
}

fn quicklook(root: &Area, width: usize, height: usize, rgb: &[u8]) -> Drawn {
    let (w, _) = root.dim_in_pixel();
    let k = (w as usize / width.max(1)).max(1);
    for y in 0..height * k {
        for x in 0..width * k {
            let i = 3 * ((y / k) * width + x / k);
            root.draw_pixel(
                (x as i32, y as i32),
                &RGBColor(rgb[i], rgb[i + 1], rgb[i + 2]),
            )?;
        }
    }
    Ok(())
}

/// Blue (−limit) – white (0) – red (+limit).
fn diverging(v: f64, limit: f64) -> RGBColor {
    let t = if limit > 0.0 {
        (v / limit).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let fade = |t: f64| (255.0 * (1.0 - t.abs())).round() as u8;
    if t >= 0.0 {
        RGBColor(255, fade(t), fade(t))
    } else {
        RGBColor(fade(t), fade(t), 255)
    }
}

fn maps(root: &Area, (w, h): (usize, usize), cell: f64, limit: f64, panels: &[MapPanel]) -> Drawn {
    let (body, legend) = root.split_vertically(root.dim_in_pixel().1 - 60);
    let cells = body.split_evenly((panels.len().div_ceil(3).max(1), 3));
    let (iw, ih) = (w as f64 * cell, h as f64 * cell);
    for (p, area) in panels.iter().zip(cells.iter()) {
        let mut chart = ChartBuilder::on(area)
            .caption(&p.name, (FONT, 16))
            .margin(6)
            .x_label_area_size(22)
            .y_label_area_size(46)
            .build_cartesian_2d(0.0..iw, ih..0.0)?;
        chart
            .configure_mesh()
            .x_labels(4)
            .y_labels(4)
            .x_label_formatter(&counts)
            .y_label_formatter(&counts)
            .label_style((FONT, 11))
            .disable_mesh()
            .draw()?;
        chart.draw_series(p.values.iter().enumerate().map(|(i, v)| {
            let (x, y) = ((i % w) as f64 * cell, (i / w) as f64 * cell);
            let colour = match v {
                Some(v) => diverging(*v, limit).filled(),
                None => RGBColor(160, 160, 160).filled(),
            };
            Rectangle::new([(x, y), (x + cell, y + cell)], colour)
        }))?;
    }
    // Colour bar.
    let mut bar = ChartBuilder::on(&legend)
        .margin_left(200)
        .margin_right(200)
        .margin_top(4)
        .x_label_area_size(24)
        .build_cartesian_2d(-limit.max(1e-300)..limit.max(1e-300), 0.0..1.0)?;
    bar.configure_mesh()
        .x_labels(5)
        .x_label_formatter(&ticks(-limit, limit))
        .disable_y_axis()
        .disable_mesh()
        .label_style((FONT, 12))
        .draw()?;
    let n = 200;
    let step = 2.0 * limit.max(1e-300) / n as f64;
    bar.draw_series((0..n).map(|i| {
        let x = -limit.max(1e-300) + i as f64 * step;
        Rectangle::new(
            [(x, 0.0), (x + step, 1.0)],
            diverging(x + step / 2.0, limit).filled(),
        )
    }))?;
    Ok(())
}

fn vectors(root: &Area, (w, h): (usize, usize), scale: f64, arrows: &[Arrow]) -> Drawn {
    let mut chart = ChartBuilder::on(root)
        .caption(format!("shift × {scale:.0} (red: outliers)"), (FONT, 18))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..w as f64, h as f64..0.0)?;
    chart
        .configure_mesh()
        .x_label_formatter(&counts)
        .y_label_formatter(&counts)
        .x_desc("column")
        .y_desc("line")
        .label_style((FONT, 12))
        .draw()?;
    for a in arrows {
        let colour = if a.outlier { RED } else { BLUE };
        let end = (a.col + a.dx * scale, a.line + a.dy * scale);
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(a.col, a.line), end],
            colour.stroke_width(2),
        )))?;
        chart.draw_series(std::iter::once(Circle::new(end, 3, colour.filled())))?;
    }
    Ok(())
}

fn series(root: &Area, x_label: &str, times: &[f64], panels: &[SeriesPanel]) -> Drawn {
    let cells = root.split_evenly((panels.len().div_ceil(3).max(1), 3));
    let (t0, t1) = span(times.iter().copied());
    for (p, area) in panels.iter().zip(cells.iter()) {
        let line = |t: f64| p.intercept.zip(p.slope).map(|(a, b)| a + b * t);
        let (lo, hi) = span(
            p.values
                .iter()
                .flatten()
                .copied()
                .chain([line(t0), line(t1)].into_iter().flatten()),
        );
        let mut chart = ChartBuilder::on(area)
            .caption(&p.name, (FONT, 16))
            .margin(6)
            .x_label_area_size(34)
            .y_label_area_size(60)
            .build_cartesian_2d(t0..t1, lo..hi)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&ticks(t0, t1))
            .y_label_formatter(&ticks(lo, hi))
            .x_desc(x_label)
            .label_style((FONT, 11))
            .draw()?;
        if let (Some(a), Some(b)) = (line(t0), line(t1)) {
            chart.draw_series(LineSeries::new(vec![(t0, a), (t1, b)], RED.stroke_width(2)))?;
        }
        chart.draw_series(
            times
                .iter()
                .zip(&p.values)
                .filter_map(|(&t, v)| v.map(|v| Circle::new((t, v), 4, BLUE.filled()))),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_scale_is_white_at_zero_and_saturated_at_the_limit() {
        assert_eq!(diverging(0.0, 1.0), RGBColor(255, 255, 255));
        assert_eq!(diverging(1.0, 1.0), RGBColor(255, 0, 0));
        assert_eq!(diverging(-5.0, 1.0), RGBColor(0, 0, 255));
    }

    #[test]
    fn a_figure_is_a_png_of_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let f = Figure::new(
            "h.png",
            "histograms",
            Plot::Histograms {
                panels: vec![HistogramPanel {
                    name: "B01".into(),
                    min: 0.0,
                    max: 1.0,
                    buckets: vec![1, 5, 3, 0, 2],
                }],
            },
        );
        let p = dir.path().join(&f.file);
        f.draw(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((w, h), (f.width, f.height));
    }
}
