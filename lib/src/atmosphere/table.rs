//! N-dimensional look-up tables on rectilinear grids, their interpolation, and their storage
//! as MetaImage (`.mha`) files, the format of the VENµS LUT GIPPs' `.DBL.DIR`.
//!
//! Values are stored with the first axis outermost and the last axis fastest (the MAJA
//! `LookUpTableFileReader` order); the MetaImage `DimSize` lists the fastest axis first.

use std::io::Write;
use std::path::Path;

use crate::error::{Result, VipError};

/// One axis of a table: a name and strictly increasing node values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<f64>,
}

impl Axis {
    pub fn new(name: &str, values: Vec<f64>) -> Self {
        Axis {
            name: name.to_string(),
            values,
        }
    }

    /// Nodes strictly increasing and finite, at least one.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.values.is_empty() {
            return Err(format!("axis {} has no nodes", self.name));
        }
        if self.values.iter().any(|v| !v.is_finite()) {
            return Err(format!("axis {} has a non-finite node", self.name));
        }
        if self.values.windows(2).any(|w| w[1] <= w[0]) {
            return Err(format!("axis {} is not strictly increasing", self.name));
        }
        Ok(())
    }

    /// Interpolation weights at `x`: up to 4 nodes (cubic Lagrange on the nodes around `x`,
    /// lower order near the ends and on short axes), and whether `x` was outside the axis and
    /// clamped to its end.
    pub fn weights(&self, x: f64) -> (Weights, bool) {
        let v = &self.values;
        let n = v.len();
        let clamped = x < v[0] || x > v[n - 1];
        let x = x.clamp(v[0], v[n - 1]);
        let mut w = Weights::default();
        if n == 1 {
            w.push(0, 1.0);
            return (w, clamped);
        }
        // i: last node <= x (at most n - 2)
        let i = v.partition_point(|&a| a <= x).saturating_sub(1).min(n - 2);
        if x == v[i] {
            w.push(i, 1.0);
            return (w, clamped);
        }
        // four nodes around x (shifted inwards at the ends), fewer on short axes
        let hi = (i.saturating_sub(1) + 3).min(n - 1);
        let lo = hi.saturating_sub(3);
        for a in lo..=hi {
            let mut l = 1.0;
            for b in lo..=hi {
                if a != b {
                    l *= (x - v[b]) / (v[a] - v[b]);
                }
            }
            w.push(a, l);
        }
        (w, clamped)
    }
}

/// Interpolation weights along one axis: node indices and their weights (sum 1).
#[derive(Debug, Clone, Copy, Default)]
pub struct Weights {
    idx: [usize; 4],
    w: [f64; 4],
    n: usize,
}

impl Weights {
    fn push(&mut self, i: usize, w: f64) {
        self.idx[self.n] = i;
        self.w[self.n] = w;
        self.n += 1;
    }

    /// (node index, weight) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        (0..self.n).map(|k| (self.idx[k], self.w[k]))
    }
}

/// Largest MetaImage table read (a VENµS LUT band is well under a megabyte).
pub const MAX_MHA_BYTES: u64 = 256 << 20;

/// A table of f32 values over the product of its axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub axes: Vec<Axis>,
    pub data: Vec<f32>,
}

/// Result of an interpolation: the value and the names of the axes where the point was
/// outside the table and was clamped to its edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub value: f64,
    pub clamped: Vec<String>,
}

impl Table {
    /// A table checking that `data` has one value per grid node.
    pub fn new(axes: Vec<Axis>, data: Vec<f32>) -> std::result::Result<Self, String> {
        for a in &axes {
            a.check()?;
        }
        let n = nodes(&axes.iter().map(|a| a.values.len()).collect::<Vec<_>>());
        if n != Some(data.len()) {
            return Err(format!(
                "{} values for a grid of {} nodes ({})",
                data.len(),
                n.map_or("too many".into(), |n| n.to_string()),
                axes.iter()
                    .map(|a| format!("{} {}", a.name, a.values.len()))
                    .collect::<Vec<_>>()
                    .join(" × ")
            ));
        }
        Ok(Table { axes, data })
    }

    /// Node counts along each axis.
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.values.len()).collect()
    }

    /// Flat index of a grid node.
    pub fn index(&self, node: &[usize]) -> usize {
        node.iter()
            .zip(&self.axes)
            .fold(0, |acc, (&i, a)| acc * a.values.len() + i)
    }

    /// Value at a grid node.
    pub fn at(&self, node: &[usize]) -> f64 {
        f64::from(self.data[self.index(node)])
    }

    /// Interpolated value at `x` (one coordinate per axis; piecewise-cubic Lagrange along
    /// each axis, tensor product), points outside clamped to the edge and reported.
    pub fn sample(&self, x: &[f64]) -> Sample {
        let (weights, clamped) = self.weights(x);
        Sample {
            value: self.partial(&weights, 0, 0),
            clamped,
        }
    }

    /// The interpolation weights along each axis at `x`, and the names of the axes `x` was
    /// clamped on.
    pub fn weights(&self, x: &[f64]) -> (Vec<Weights>, Vec<String>) {
        weights(&self.axes, x)
    }

    /// The interpolation along the axes `dim..` only, at the node of the axes `..dim` whose
    /// flat index over those axes is `base`.
    pub fn partial(&self, w: &[Weights], dim: usize, base: usize) -> f64 {
        contract(&self.axes, &self.data, w, dim, base)
    }

    /// The table at `x` along its leading axes (`x.len()` of them), as a table over the
    /// others, and the names of the leading axes `x` was clamped on: the same interpolation
    /// as [`Table::sample`], its sums over the leading axes taken once for the many points of
    /// the trailing ones a caller samples there (a LUT at one geometry).
    pub fn fix_leading(&self, x: &[f64]) -> (Slice<'_>, Vec<String>) {
        let lead = x.len();
        let (w, clamped) = weights(&self.axes[..lead], x);
        let inner = self.axes[lead..].iter().map(|a| a.values.len()).product();
        let mut data = vec![0.0; inner];
        // every node of the leading axes with its weight, the trailing values of each added
        let mut stack = vec![(0usize, 0usize, 1.0f64)];
        while let Some((dim, base, weight)) = stack.pop() {
            if dim == lead {
                let values = &self.data[base * inner..(base + 1) * inner];
                for (d, &v) in data.iter_mut().zip(values) {
                    *d += weight * f64::from(v);
                }
                continue;
            }
            let n = self.axes[dim].values.len();
            for (i, wi) in w[dim].iter() {
                stack.push((dim + 1, base * n + i, weight * wi));
            }
        }
        let slice = Slice {
            axes: &self.axes[lead..],
            data,
        };
        (slice, clamped)
    }

    /// Writes the table as a MetaImage file (little-endian float32, data in the file).
    pub fn write_mha(&self, path: &Path) -> Result<()> {
        let dims: Vec<String> = self.shape().iter().rev().map(|n| n.to_string()).collect();
        let header = format!(
            "ObjectType = Image\nNDims = {}\nBinaryData = True\nBinaryDataByteOrderMSB = False\n\
             CompressedData = False\nDimSize = {}\nElementType = MET_FLOAT\n\
             ElementDataFile = LOCAL\n",
            dims.len(),
            dims.join(" ")
        );
        let mut bytes = header.into_bytes();
        for v in &self.data {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let fail = |e: std::io::Error| VipError::output(path, e);
        let mut f = std::fs::File::create(path).map_err(fail)?;
        f.write_all(&bytes).map_err(fail)?;
        f.sync_all().map_err(fail)
    }

    /// Reads a MetaImage file written for a table on `axes` (sizes checked against the axes).
    pub fn read_mha(path: &Path, axes: Vec<Axis>) -> Result<Table> {
        let bytes = crate::input::read_file(path, MAX_MHA_BYTES, "a LUT table")?;
        let bad = |m: String| VipError::bad_input(path, m);
        let mut pos = 0;
        let mut dims: Option<Vec<usize>> = None;
        let mut local = false;
        while !local {
            let end = bytes[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(|| bad("MetaImage header has no ElementDataFile = LOCAL".into()))?;
            let line = std::str::from_utf8(&bytes[pos..pos + end])
                .map_err(|_| bad("MetaImage header is not text".into()))?;
            pos += end + 1;
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            let expect = |want: &str| {
                if value.eq_ignore_ascii_case(want) {
                    Ok(())
                } else {
                    Err(bad(format!("MetaImage {key} is {value}, VIP reads {want}")))
                }
            };
            match key {
                "ElementType" => expect("MET_FLOAT")?,
                "CompressedData" => expect("False")?,
                "BinaryDataByteOrderMSB" | "ElementByteOrderMSB" => expect("False")?,
                "ElementDataFile" => {
                    expect("LOCAL")?;
                    local = true;
                }
                "DimSize" => {
                    dims = Some(
                        value
                            .split_whitespace()
                            .map(|t| t.parse().map_err(|_| bad(format!("bad DimSize '{value}'"))))
                            .collect::<Result<_>>()?,
                    )
                }
                _ => {}
            }
        }
        let dims = dims.ok_or_else(|| bad("MetaImage header has no DimSize".into()))?;
        let want: Vec<usize> = axes.iter().rev().map(|a| a.values.len()).collect();
        if dims != want {
            return Err(bad(format!(
                "MetaImage DimSize {dims:?} does not match the header's axes {want:?}"
            )));
        }
        let size = nodes(&dims)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| bad(format!("MetaImage DimSize {dims:?} is too big")))?;
        let body = &bytes[pos..];
        if body.len() != size {
            return Err(bad(format!(
                "{} bytes of data, {size} expected for {} float32 values",
                body.len(),
                size / 4
            )));
        }
        let data: Vec<f32> = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("value {i} is not a finite number")));
        }
        Table::new(axes, data).map_err(bad)
    }
}

/// A [`Table`] at a fixed point of its leading axes: its values over the trailing ones, in
/// double precision ([`Table::fix_leading`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Slice<'a> {
    pub axes: &'a [Axis],
    pub data: Vec<f64>,
}

impl Slice<'_> {
    /// The interpolation with the weights `w` along its axes (see [`Axis::weights`]).
    pub fn at(&self, w: &[Weights]) -> f64 {
        contract(self.axes, &self.data, w, 0, 0)
    }

    /// Interpolated value at `x` (one coordinate per remaining axis), as [`Table::sample`].
    pub fn sample(&self, x: &[f64]) -> Sample {
        let (w, clamped) = weights(self.axes, x);
        Sample {
            value: self.at(&w),
            clamped,
        }
    }
}

/// The interpolation weights along each of `axes` at `x`, and the names of the axes `x` was
/// clamped on.
pub fn weights(axes: &[Axis], x: &[f64]) -> (Vec<Weights>, Vec<String>) {
    assert_eq!(x.len(), axes.len(), "one coordinate per axis");
    let mut clamped = vec![];
    let weights = axes
        .iter()
        .zip(x)
        .map(|(a, &xi)| {
            let (w, c) = a.weights(xi);
            if c {
                clamped.push(a.name.clone());
            }
            w
        })
        .collect();
    (weights, clamped)
}

/// The weighted sum over axes `dim..` of the nodes of `data` (over `axes`) under flat index
/// prefix `base`; the last axis, contiguous in `data`, is summed in place (the hot loop of the
/// L2's LUT sampling).
fn contract<T: Copy + Into<f64>>(
    axes: &[Axis],
    data: &[T],
    w: &[Weights],
    dim: usize,
    base: usize,
) -> f64 {
    if dim == w.len() {
        return data[base].into();
    }
    let n = axes[dim].values.len();
    if dim + 1 == w.len() {
        let row = &data[base * n..(base + 1) * n];
        return w[dim].iter().map(|(i, wi)| wi * row[i].into()).sum();
    }
    w[dim]
        .iter()
        .map(|(i, wi)| wi * contract(axes, data, w, dim + 1, base * n + i))
        .sum()
}

/// Node count of a grid of `shape`, `None` past `usize`.
fn nodes(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &k| n.checked_mul(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Table {
        // f(x, y) = cubic in x, quadratic in y: reproduced exactly by the interpolation.
        let x = Axis::new("x", vec![0.0, 1.0, 2.5, 3.0, 5.0]);
        let y = Axis::new("y", vec![-1.0, 0.0, 2.0]);
        let f = |x: f64, y: f64| 0.5 * x * x * x - x + 2.0 * y * y + x * y + 1.0;
        let mut data = vec![];
        for &a in &x.values {
            for &b in &y.values {
                data.push(f(a, b) as f32);
            }
        }
        Table::new(vec![x, y], data).unwrap()
    }

    #[test]
    fn cubic_interpolation_is_exact_for_cubics() {
        let t = grid();
        let f = |x: f64, y: f64| 0.5 * x * x * x - x + 2.0 * y * y + x * y + 1.0;
        for &(x, y) in &[(0.3, -0.5), (1.7, 1.2), (2.9, 0.1), (4.2, 1.9), (5.0, 2.0)] {
            let s = t.sample(&[x, y]);
            assert!((s.value - f(x, y)).abs() < 1e-4, "{x} {y}: {}", s.value);
            assert!(s.clamped.is_empty());
        }
    }

    #[test]
    fn a_slice_at_fixed_leading_axes_samples_as_the_table() {
        let t = grid();
        for &(x, y) in &[(0.3, -0.5), (1.7, 1.2), (2.5, 0.1), (6.0, 1.9), (5.0, -2.0)] {
            let (slice, clamped) = t.fix_leading(&[x]);
            let s = slice.sample(&[y]);
            let whole = t.sample(&[x, y]);
            assert!((s.value - whole.value).abs() < 1e-12, "{x} {y}");
            let both: Vec<String> = clamped.into_iter().chain(s.clamped).collect();
            assert_eq!(both, whole.clamped);
        }
    }

    #[test]
    fn outside_points_are_clamped_and_reported() {
        let t = grid();
        let s = t.sample(&[6.0, 0.0]);
        assert_eq!(s.clamped, vec!["x".to_string()]);
        assert!((s.value - t.at(&[4, 1])).abs() < 1e-9);
    }

    #[test]
    fn metaimage_round_trip_and_bad_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.mha");
        let t = grid();
        t.write_mha(&p).unwrap();
        assert_eq!(Table::read_mha(&p, t.axes.clone()).unwrap(), t);
        let mut other = t.axes.clone();
        other[1].values.push(3.0);
        let e = Table::read_mha(&p, other).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("does not match"), "{e}");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        let e = Table::read_mha(&p, t.axes.clone()).unwrap_err();
        assert!(e.to_string().contains("bytes of data"), "{e}");
    }
}
