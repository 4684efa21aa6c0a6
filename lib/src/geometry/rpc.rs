//! Rational polynomial coefficients (RPC00B) of a band, fitted to its sensor model, in the form
//! GDAL's RPC transformer reads (`GDALRPCInfoV2`, metadata domain `RPC`).
//!
//! An RPC maps (longitude, latitude, height) to image (line, sample): each of the four
//! normalised coordinates is `(value − OFF) / SCALE`, and
//!
//! ```text
//! line = LINE_OFF + LINE_SCALE · (Σ LINE_NUM_COEFF[i]·t_i) / (Σ LINE_DEN_COEFF[i]·t_i)
//! samp = SAMP_OFF + SAMP_SCALE · (Σ SAMP_NUM_COEFF[i]·t_i) / (Σ SAMP_DEN_COEFF[i]·t_i)
//! ```
//!
//! over the 20 cubic terms `t` of the normalised (L = lon, P = lat, H = height) in the RPC00B
//! order: 1, L, P, H, LP, LH, PH, L², P², H², PLH, L³, LP², LH², L²P, P³, PH², L²H, P²H, H³.
//!
//! # Pixel convention
//!
//! RPC line and sample are those of [`BandModel`]: integers at pixel **centres**, (0, 0) the
//! centre of the first pixel of the first line. GDAL's transformer works with the corner of the
//! first pixel at (0, 0) and adds 0.5 to what the polynomials give, so the GDAL pixel/line of
//! a ground point is (`samp + 0.5`, `line + 0.5`). Checked with `gdaltransform -rpc` (GDAL
//! 3.6.2): a point the RPC puts at line 0, sample 0 comes out at pixel 0.5, line 0.5, and the
//! tests of `raster::rpc` find `gdaltransform -rpc` (both ways, at fixed heights and over a
//! DEM) and `gdalwarp -rpc` within 1e-4 pixel of the sensor model with this convention (a
//! half-pixel error would show as 0.7 pixel). So the fit uses the sensor model's coordinates
//! unchanged; no half-pixel shift is written.
//!
//! Accuracy: over a full 5200-column band and heights 100–1000 m, the fitted RPC reproduces
//! the sensor model within 6e-8 pixel RMS, 2e-7 pixel at most, on the check grid. A model
//! with a kink (image columns running past the last detector, whose viewing direction is then
//! extrapolated linearly) still fits within 0.005 pixel RMS, 0.01 at most.
//!
//! Heights are the sensor model's heights above the map plane's zero, which GDAL treats as
//! the height of the RPC (and of a DEM given with `RPC_DEM`).

use super::lonlat::MapToLonLat;
use super::sensor::BandModel;
use crate::error::{Result, VipError};

/// One fitting sample: (longitude°, latitude°, height m, line, sample).
pub type Sample = (f64, f64, f64, f64, f64);

/// Number of terms of each RPC00B polynomial.
pub const TERMS: usize = 20;

/// Unknowns of one line or sample fit: 20 numerator and 19 denominator coefficients.
const UNKNOWNS: usize = 2 * TERMS - 1;

/// Ridge weight (relative to the number of samples) that keeps the nearly redundant
/// denominator coefficients of an almost affine geometry determined.
const RIDGE: f64 = 1e-14;

/// One RPC00B model, with GDAL's field names.
#[derive(Debug, Clone, PartialEq)]
pub struct Rpc {
    pub line_off: f64,
    pub samp_off: f64,
    pub lat_off: f64,
    pub long_off: f64,
    pub height_off: f64,
    pub line_scale: f64,
    pub samp_scale: f64,
    pub lat_scale: f64,
    pub long_scale: f64,
    pub height_scale: f64,
    pub line_num_coeff: [f64; TERMS],
    pub line_den_coeff: [f64; TERMS],
    pub samp_num_coeff: [f64; TERMS],
    pub samp_den_coeff: [f64; TERMS],
    pub min_long: f64,
    pub min_lat: f64,
    pub max_long: f64,
    pub max_lat: f64,
}

/// Names of the scalar items of the `RPC` metadata domain, in the order [`Rpc::metadata`]
/// writes them.
const SCALARS: [&str; 14] = [
    "LINE_OFF",
    "SAMP_OFF",
    "LAT_OFF",
    "LONG_OFF",
    "HEIGHT_OFF",
    "LINE_SCALE",
    "SAMP_SCALE",
    "LAT_SCALE",
    "LONG_SCALE",
    "HEIGHT_SCALE",
    "MIN_LONG",
    "MIN_LAT",
    "MAX_LONG",
    "MAX_LAT",
];

/// Names of the coefficient items of the `RPC` metadata domain.
const COEFFS: [&str; 4] = [
    "LINE_NUM_COEFF",
    "LINE_DEN_COEFF",
    "SAMP_NUM_COEFF",
    "SAMP_DEN_COEFF",
];

impl Rpc {
    /// Image (line, sample) of (`lon`, `lat`) in degrees at height `h` metres, pixel centres at
    /// integers (see the module documentation).
    pub fn evaluate(&self, lon: f64, lat: f64, h: f64) -> (f64, f64) {
        // As GDAL does: a longitude on the other side of the antimeridian is brought back.
        let mut dlon = lon - self.long_off;
        if dlon < -270.0 {
            dlon += 360.0;
        } else if dlon > 270.0 {
            dlon -= 360.0;
        }
        let t = terms(
            dlon / self.long_scale,
            (lat - self.lat_off) / self.lat_scale,
            (h - self.height_off) / self.height_scale,
        );
        let line = dot(&self.line_num_coeff, &t) / dot(&self.line_den_coeff, &t);
        let samp = dot(&self.samp_num_coeff, &t) / dot(&self.samp_den_coeff, &t);
        (
            line * self.line_scale + self.line_off,
            samp * self.samp_scale + self.samp_off,
        )
    }

    /// The items of GDAL's `RPC` metadata domain: each number written so that it reads back
    /// to the same `f64`, coefficients as 20 space-separated numbers.
    pub fn metadata(&self) -> Vec<(String, String)> {
        let scalars = self.scalars();
        let mut items: Vec<(String, String)> = SCALARS
            .iter()
            .zip(scalars)
            .map(|(k, v)| (k.to_string(), number(v)))
            .collect();
        for (k, c) in COEFFS.iter().zip(self.coefficients()) {
            let v = c.iter().map(|&x| number(x)).collect::<Vec<_>>().join(" ");
            items.push((k.to_string(), v));
        }
        items
    }

    /// Reads the items of an `RPC` metadata domain (names as GDAL writes them; other items
    /// are ignored). The error says which item is missing or malformed.
    pub fn from_metadata(items: &[(String, String)]) -> std::result::Result<Rpc, String> {
        let get = |key: &str| {
            items
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.trim())
                .ok_or_else(|| format!("RPC item {key} is missing"))
        };
        let parse = |key: &str, s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("RPC item {key}: '{s}' is not a number"))
        };
        let mut s = [0.0; 14];
        for (v, key) in s.iter_mut().zip(SCALARS) {
            *v = parse(key, get(key)?)?;
        }
        let mut c = [[0.0; TERMS]; 4];
        for (v, key) in c.iter_mut().zip(COEFFS) {
            let words: Vec<&str> = get(key)?.split_whitespace().collect();
            if words.len() != TERMS {
                return Err(format!(
                    "RPC item {key}: {} values, {TERMS} expected",
                    words.len()
                ));
            }
            for (x, w) in v.iter_mut().zip(words) {
                *x = parse(key, w)?;
            }
        }
        for (i, key) in SCALARS.iter().enumerate().take(10).skip(5) {
            if s[i] == 0.0 {
                return Err(format!("RPC item {key} is zero"));
            }
        }
        Ok(Rpc {
            line_off: s[0],
            samp_off: s[1],
            lat_off: s[2],
            long_off: s[3],
            height_off: s[4],
            line_scale: s[5],
            samp_scale: s[6],
            lat_scale: s[7],
            long_scale: s[8],
            height_scale: s[9],
            min_long: s[10],
            min_lat: s[11],
            max_long: s[12],
            max_lat: s[13],
            line_num_coeff: c[0],
            line_den_coeff: c[1],
            samp_num_coeff: c[2],
            samp_den_coeff: c[3],
        })
    }

    fn scalars(&self) -> [f64; 14] {
        [
            self.line_off,
            self.samp_off,
            self.lat_off,
            self.long_off,
            self.height_off,
            self.line_scale,
            self.samp_scale,
            self.lat_scale,
            self.long_scale,
            self.height_scale,
            self.min_long,
            self.min_lat,
            self.max_long,
            self.max_lat,
        ]
    }

    fn coefficients(&self) -> [&[f64; TERMS]; 4] {
        [
            &self.line_num_coeff,
            &self.line_den_coeff,
            &self.samp_num_coeff,
            &self.samp_den_coeff,
        ]
    }
}

/// How well an RPC reproduces the sensor model, in pixels (distance in the image between the
/// RPC's (line, sample) and the model's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitStats {
    /// Samples the RPC was fitted to.
    pub samples: usize,
    pub fit_rms: f64,
    pub fit_max: f64,
    /// Points of the independent check grid (between the fitting grid's nodes and heights).
    pub check_points: usize,
    pub check_rms: f64,
    pub check_max: f64,
}

/// Image positions across each axis of the fitting grid.
const GRID: usize = 20;
/// Heights of the fitting grid.
const GRID_HEIGHTS: usize = 5;

/// Fits the RPC of a band of `lines` × `cols` pixels to its sensor model, for ground heights in
/// `h_range` (metres; the fit covers it with a margin of 10 % of its span, at least 100 m, on
/// each side). Samples: a 20 × 20 grid of image positions from edge to edge of the image
/// (−0.5 to `lines` − 0.5) at 5 heights, each located by `model.ground` and turned into
/// longitude and latitude by `to_lonlat`. The statistics compare the RPC with the model on
/// those samples and on a check grid midway between them (19 × 19 positions, 4 heights).
pub fn fit_band_rpc(
    model: &BandModel,
    lines: usize,
    cols: usize,
    to_lonlat: &MapToLonLat,
    h_range: (f64, f64),
) -> Result<(Rpc, FitStats)> {
    let (lo, hi) = h_range;
    if lines < 2 || cols < 2 {
        return Err(VipError::Processing(format!(
            "RPC fit: a {lines} × {cols} image is too small"
        )));
    }
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(VipError::Processing(format!(
            "RPC fit: height range {lo}..{hi} is not a range"
        )));
    }
    let margin = (0.1 * (hi - lo)).max(100.0);
    let (h0, h1) = (lo - margin, hi + margin);
    let at = |n: usize, count: usize, k: f64| -0.5 + n as f64 * k / (count - 1) as f64;
    let sample = |line: f64, col: f64, h: f64| -> Result<Sample> {
        let (e, n) = model.ground(line, col, h);
        let (lon, lat) = to_lonlat.lonlat(e, n)?;
        Ok((lon, lat, h, line, col))
    };

    let mut samples = Vec::with_capacity(GRID * GRID * GRID_HEIGHTS);
    for k in 0..GRID_HEIGHTS {
        let h = h0 + (h1 - h0) * k as f64 / (GRID_HEIGHTS - 1) as f64;
        for i in 0..GRID {
            for j in 0..GRID {
                let line = at(i, GRID, lines as f64);
                let col = at(j, GRID, cols as f64);
                samples.push(sample(line, col, h)?);
            }
        }
    }
    let rpc = fit_rpc(&samples)?;

    let mut check = Vec::with_capacity((GRID - 1) * (GRID - 1) * (GRID_HEIGHTS - 1));
    for k in 0..GRID_HEIGHTS - 1 {
        let h = h0 + (h1 - h0) * (k as f64 + 0.5) / (GRID_HEIGHTS - 1) as f64;
        for i in 0..GRID - 1 {
            for j in 0..GRID - 1 {
                let line = at(i, GRID, lines as f64) + 0.5 * lines as f64 / (GRID - 1) as f64;
                let col = at(j, GRID, cols as f64) + 0.5 * cols as f64 / (GRID - 1) as f64;
                check.push(sample(line, col, h)?);
            }
        }
    }
    let (fit_rms, fit_max) = residuals(&rpc, &samples);
    let (check_rms, check_max) = residuals(&rpc, &check);
    let stats = FitStats {
        samples: samples.len(),
        fit_rms,
        fit_max,
        check_points: check.len(),
        check_rms,
        check_max,
    };
    Ok((rpc, stats))
}

/// RMS and maximum distance in pixels between the RPC's image position of each sample and the
/// sample's own.
fn residuals(rpc: &Rpc, samples: &[Sample]) -> (f64, f64) {
    let (mut sum2, mut max) = (0.0, 0.0f64);
    for &(lon, lat, h, line, samp) in samples {
        let (l, s) = rpc.evaluate(lon, lat, h);
        let d2 = (l - line).powi(2) + (s - samp).powi(2);
        sum2 += d2;
        max = max.max(d2.sqrt());
    }
    ((sum2 / samples.len() as f64).sqrt(), max)
}

/// Fits an RPC to `samples` of (lon, lat, height, line, sample): offsets and scales put each
/// coordinate's range on [−1, 1]; line and sample are each fitted by linear least squares on
/// the linearised equations `P(t) − r·(Q(t) − 1) = r` (Householder QR, a faint ridge on the
/// coefficients), then refitted twice with each equation weighted by 1 / Q(t) of the previous
/// fit, so that the residuals minimised are those of the rational function itself.
///
/// Fewer than 39 samples, non-finite values, a coordinate that does not vary, or samples that
/// do not span longitude, latitude and height in three dimensions are a processing error.
pub fn fit_rpc(samples: &[Sample]) -> Result<Rpc> {
    let fail = |what: String| VipError::Processing(format!("RPC fit: {what}"));
    if samples.len() < UNKNOWNS {
        return Err(fail(format!(
            "{} samples, at least {UNKNOWNS} needed",
            samples.len()
        )));
    }
    if samples
        .iter()
        .any(|s| ![s.0, s.1, s.2, s.3, s.4].iter().all(|v| v.is_finite()))
    {
        return Err(fail("a sample is not finite".to_string()));
    }
    let range = |name: &str, f: &dyn Fn(&Sample) -> f64| {
        let (lo, hi) = samples
            .iter()
            .map(f)
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if hi - lo <= 1e-12 * hi.abs().max(1.0) {
            Err(fail(format!("every sample has the same {name} ({lo})")))
        } else {
            Ok((lo, hi))
        }
    };
    let lon = range("longitude", &|s| s.0)?;
    let lat = range("latitude", &|s| s.1)?;
    let hgt = range("height", &|s| s.2)?;
    let line = range("line", &|s| s.3)?;
    let samp = range("sample", &|s| s.4)?;
    let off_scale = |(lo, hi): (f64, f64)| (0.5 * (lo + hi), 0.5 * (hi - lo));
    let (long_off, long_scale) = off_scale(lon);
    let (lat_off, lat_scale) = off_scale(lat);
    let (height_off, height_scale) = off_scale(hgt);
    let (line_off, line_scale) = off_scale(line);
    let (samp_off, samp_scale) = off_scale(samp);

    let t: Vec<[f64; TERMS]> = samples
        .iter()
        .map(|s| {
            terms(
                (s.0 - long_off) / long_scale,
                (s.1 - lat_off) / lat_scale,
                (s.2 - height_off) / height_scale,
            )
        })
        .collect();
    // The affine terms (1, L, P, H) must be independent, or no polynomial in them is defined.
    let mut affine: Vec<f64> = t.iter().flat_map(|r| r[..4].to_vec()).collect();
    let mut zero = vec![0.0; t.len()];
    if least_squares(&mut affine, &mut zero, t.len(), 4).is_none() {
        return Err(fail(
            "the samples do not span longitude, latitude and height in three dimensions"
                .to_string(),
        ));
    }
    let rn: Vec<f64> = samples
        .iter()
        .map(|s| (s.3 - line_off) / line_scale)
        .collect();
    let cn: Vec<f64> = samples
        .iter()
        .map(|s| (s.4 - samp_off) / samp_scale)
        .collect();
    let (line_num_coeff, line_den_coeff) =
        fit_ratio(&t, &rn).ok_or_else(|| fail("the line equations are singular".to_string()))?;
    let (samp_num_coeff, samp_den_coeff) =
        fit_ratio(&t, &cn).ok_or_else(|| fail("the sample equations are singular".to_string()))?;
    Ok(Rpc {
        line_off,
        samp_off,
        lat_off,
        long_off,
        height_off,
        line_scale,
        samp_scale,
        lat_scale,
        long_scale,
        height_scale,
        line_num_coeff,
        line_den_coeff,
        samp_num_coeff,
        samp_den_coeff,
        min_long: lon.0,
        min_lat: lat.0,
        max_long: lon.1,
        max_lat: lat.1,
    })
}

/// Numerator and denominator (constant term 1) of y ≈ P(t) / Q(t), best of three reweighted
/// fits by RMS residual; `None` when the equations are singular.
fn fit_ratio(t: &[[f64; TERMS]], y: &[f64]) -> Option<([f64; TERMS], [f64; TERMS])> {
    let m = t.len();
    let ridge = (RIDGE * m as f64).sqrt();
    let mut den = [0.0; TERMS];
    den[0] = 1.0;
    let mut best: Option<(f64, [f64; TERMS], [f64; TERMS])> = None;
    for _ in 0..3 {
        let rows = m + UNKNOWNS;
        let mut a = vec![0.0; rows * UNKNOWNS];
        let mut b = vec![0.0; rows];
        for (k, (tk, &yk)) in t.iter().zip(y).enumerate() {
            let q = dot(&den, tk);
            if q.abs() < 1e-6 {
                return best.map(|(_, n, d)| (n, d));
            }
            let w = 1.0 / q;
            let row = &mut a[k * UNKNOWNS..(k + 1) * UNKNOWNS];
            for i in 0..TERMS {
                row[i] = w * tk[i];
            }
            for i in 1..TERMS {
                row[TERMS + i - 1] = -w * yk * tk[i];
            }
            b[k] = w * yk;
        }
        for i in 0..UNKNOWNS {
            a[(m + i) * UNKNOWNS + i] = ridge;
        }
        let x = least_squares(&mut a, &mut b, rows, UNKNOWNS)?;
        let mut num = [0.0; TERMS];
        num.copy_from_slice(&x[..TERMS]);
        den[0] = 1.0;
        den[1..].copy_from_slice(&x[TERMS..]);
        let rms = (t
            .iter()
            .zip(y)
            .map(|(tk, yk)| (dot(&num, tk) / dot(&den, tk) - yk).powi(2))
            .sum::<f64>()
            / m as f64)
            .sqrt();
        if rms.is_finite() && !matches!(&best, Some((r, _, _)) if *r <= rms) {
            best = Some((rms, num, den));
        }
    }
    best.map(|(_, n, d)| (n, d))
}

/// The 20 RPC00B terms of normalised (longitude, latitude, height), in GDAL's order.
fn terms(l: f64, p: f64, h: f64) -> [f64; TERMS] {
    [
        1.0,
        l,
        p,
        h,
        l * p,
        l * h,
        p * h,
        l * l,
        p * p,
        h * h,
        p * l * h,
        l * l * l,
        l * p * p,
        l * h * h,
        l * l * p,
        p * p * p,
        p * h * h,
        l * l * h,
        p * p * h,
        h * h * h,
    ]
}

fn dot(a: &[f64; TERMS], b: &[f64; TERMS]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Least-squares solution of `a · x ≈ b` (`a` row-major, `m` × `n`, `m` ≥ `n`; both
/// overwritten) by Householder QR of the column-equilibrated matrix. `None` when a column is
/// zero or dependent on the others (relative pivot below 1e-10).
fn least_squares(a: &mut [f64], b: &mut [f64], m: usize, n: usize) -> Option<Vec<f64>> {
    let mut norms = vec![0.0; n];
    for (j, norm) in norms.iter_mut().enumerate() {
        *norm = (0..m).map(|i| a[i * n + j].powi(2)).sum::<f64>().sqrt();
        if *norm == 0.0 || !norm.is_finite() {
            return None;
        }
        for i in 0..m {
            a[i * n + j] /= *norm;
        }
    }
    let mut diag = vec![0.0; n];
    for k in 0..n {
        let alpha = (k..m).map(|i| a[i * n + k].powi(2)).sum::<f64>().sqrt();
        let alpha = if a[k * n + k] > 0.0 { -alpha } else { alpha };
        // v = x − alpha·e1, stored in place of column k.
        a[k * n + k] -= alpha;
        let vnorm2: f64 = (k..m).map(|i| a[i * n + k].powi(2)).sum();
        diag[k] = alpha;
        if vnorm2 == 0.0 {
            continue;
        }
        for j in k + 1..n {
            let s: f64 = (k..m).map(|i| a[i * n + k] * a[i * n + j]).sum::<f64>() * 2.0 / vnorm2;
            for i in k..m {
                a[i * n + j] -= s * a[i * n + k];
            }
        }
        let s: f64 = (k..m).map(|i| a[i * n + k] * b[i]).sum::<f64>() * 2.0 / vnorm2;
        for i in k..m {
            b[i] -= s * a[i * n + k];
        }
    }
    let max = diag.iter().fold(0.0f64, |acc, d| acc.max(d.abs()));
    if diag.iter().any(|d| d.abs() <= 1e-10 * max) {
        return None;
    }
    let mut x = vec![0.0; n];
    for k in (0..n).rev() {
        let s: f64 = (k + 1..n).map(|j| a[k * n + j] * x[j]).sum();
        x[k] = (b[k] - s) / diag[k];
    }
    for (v, norm) in x.iter_mut().zip(&norms) {
        *v /= norm;
    }
    Some(x)
}

/// A number as the `RPC` domain holds it: the shortest text that reads back to the same `f64`.
fn number(x: f64) -> String {
    if x == 0.0 || (1e-4..1e16).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lonlat() -> MapToLonLat {
        MapToLonLat::new(32631).unwrap()
    }

    #[test]
    fn terms_follow_gdal_order() {
        let (l, p, h) = (2.0, 3.0, 5.0);
        let t = terms(l, p, h);
        let expect = [
            1.0, 2.0, 3.0, 5.0, 6.0, 10.0, 15.0, 4.0, 9.0, 25.0, 30.0, 8.0, 18.0, 50.0, 12.0, 27.0,
            75.0, 20.0, 45.0, 125.0,
        ];
        assert_eq!(t, expect);
    }

    #[test]
    fn metadata_reads_back_to_the_same_bits() {
        let (rpc, _) = fit_band_rpc(
            &crate::geometry::sensor::example_model(0.0125),
            300,
            400,
            &lonlat(),
            (100.0, 1000.0),
        )
        .unwrap();
        let back = Rpc::from_metadata(&rpc.metadata()).unwrap();
        assert_eq!(back, rpc);
        let mut bad = rpc.metadata();
        bad.retain(|(k, _)| k != "LAT_SCALE");
        assert!(Rpc::from_metadata(&bad).unwrap_err().contains("LAT_SCALE"));
        let mut bad = rpc.metadata();
        bad[14].1 = "1 2 3".into();
        assert!(Rpc::from_metadata(&bad).unwrap_err().contains("3 values"));
    }

    #[test]
    fn fit_reproduces_the_sensor_model() {
        // A full-width band, forward and backward looking, relief 100–1000 m.
        for tan_y in [0.0125, -0.0125] {
            let model = crate::geometry::sensor::example_model(tan_y);
            let (rpc, stats) =
                fit_band_rpc(&model, 3000, 5200, &lonlat(), (100.0, 1000.0)).unwrap();
            eprintln!("{stats:?}");
            assert_eq!((stats.samples, stats.check_points), (2000, 1444));
            assert!(stats.check_rms < 0.01, "{stats:?}");
            // Measured: 6e-8 pixel RMS, 2e-7 pixel at most.
            assert!(stats.check_max < 1e-3, "{stats:?}");
            // The normalised coordinates span [-1, 1].
            assert!(rpc.height_off > 500.0 && rpc.height_scale > 450.0);
            assert!((rpc.line_off - 1499.5).abs() < 1e-9 && (rpc.samp_off - 2599.5).abs() < 1e-9);
        }
    }

    #[test]
    fn fit_recovers_a_rational_function() {
        // Samples of a known, truly rational RPC are fitted to within rounding.
        let mut truth = Rpc {
            line_off: 100.0,
            samp_off: 200.0,
            lat_off: 44.2,
            long_off: 5.8,
            height_off: 500.0,
            line_scale: 100.0,
            samp_scale: 200.0,
            lat_scale: 0.1,
            long_scale: 0.15,
            height_scale: 500.0,
            line_num_coeff: [0.0; TERMS],
            line_den_coeff: [0.0; TERMS],
            samp_num_coeff: [0.0; TERMS],
            samp_den_coeff: [0.0; TERMS],
            min_long: 5.65,
            min_lat: 44.1,
            max_long: 5.95,
            max_lat: 44.3,
        };
        truth.line_num_coeff[..8]
            .copy_from_slice(&[0.01, -0.1, -0.95, 0.02, 0.003, 0.0, 0.001, 0.002]);
        truth.line_den_coeff[..4].copy_from_slice(&[1.0, 0.01, -0.02, 0.005]);
        truth.samp_num_coeff[..5].copy_from_slice(&[-0.02, 0.97, 0.1, 0.03, -0.004]);
        truth.samp_den_coeff[..4].copy_from_slice(&[1.0, -0.015, 0.01, 0.002]);
        let mut samples = Vec::new();
        for k in 0..5 {
            for i in 0..12 {
                for j in 0..12 {
                    let lon = 5.65 + 0.3 * j as f64 / 11.0;
                    let lat = 44.1 + 0.2 * i as f64 / 11.0;
                    let h = 250.0 * k as f64;
                    let (line, samp) = truth.evaluate(lon, lat, h);
                    samples.push((lon, lat, h, line, samp));
                }
            }
        }
        let rpc = fit_rpc(&samples).unwrap();
        let (rms, max) = residuals(&rpc, &samples);
        assert!(rms < 1e-6 && max < 1e-5, "{rms} {max}");
        let (l0, s0) = truth.evaluate(5.71, 44.23, 333.0);
        let (l1, s1) = rpc.evaluate(5.71, 44.23, 333.0);
        assert!((l0 - l1).abs() < 1e-5 && (s0 - s1).abs() < 1e-5);
    }

    #[test]
    fn degenerate_samples_are_errors() {
        let s = |lon: f64, lat: f64, h: f64| (lon, lat, h, 10.0 * lat, 10.0 * lon);
        let few: Vec<_> = (0..20)
            .map(|i| s(i as f64, i as f64 * 0.5, i as f64))
            .collect();
        assert!(fit_rpc(&few)
            .unwrap_err()
            .to_string()
            .contains("at least 39"));
        let flat: Vec<_> = (0..100)
            .map(|i| s(i as f64 % 10.0, (i / 10) as f64, 5.0))
            .collect();
        assert!(fit_rpc(&flat)
            .unwrap_err()
            .to_string()
            .contains("same height"));
        // Longitude, latitude and height on one plane: no 3-D span.
        let plane: Vec<_> = (0..100)
            .map(|i| {
                let (a, b) = ((i % 10) as f64, (i / 10) as f64);
                s(a, b, a + b)
            })
            .collect();
        assert!(fit_rpc(&plane)
            .unwrap_err()
            .to_string()
            .contains("three dimensions"));
        let mut nan = plane.clone();
        nan[3].2 = f64::NAN;
        assert!(fit_rpc(&nan)
            .unwrap_err()
            .to_string()
            .contains("not finite"));
        assert!(fit_rpc(&[]).is_err());
        let model = crate::geometry::sensor::example_model(0.0);
        assert!(fit_band_rpc(&model, 1, 100, &lonlat(), (0.0, 10.0)).is_err());
        assert!(fit_band_rpc(&model, 100, 100, &lonlat(), (10.0, 0.0)).is_err());
    }
}
