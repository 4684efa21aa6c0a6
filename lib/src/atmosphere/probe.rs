//! The LUT probe behind `vip-maccs lut`: atmospheric terms, forward TOA reflectance and
//! inverted surface reflectance for cases read one per line, through the same code the image
//! correction uses.
//!
//! Input: whitespace-separated `band sza vza raa aot wv alt_km rho` (angles in degrees, AOT at
//! 550 nm, water vapour in g/cm², altitude in km, then the surface reflectance, or with `toa`
//! the TOA reflectance); the band is `B01`..`B12` or `1`..`12`; extra columns, blank lines,
//! `#` comments and a header line starting with `band` are ignored.

use std::io::{BufRead, Read, Write};

use super::luts::{Conditions, LutSet, Terms};
use crate::error::{Result, VipError};

/// One evaluated case.
#[derive(Debug, Clone)]
pub struct ProbeCase {
    pub band: String,
    pub conditions: Conditions,
    /// The reflectance read (surface, or TOA when probing with TOA input).
    pub input: f64,
    pub terms: Terms,
    pub toa: f64,
    pub rho_s: f64,
}

/// Output columns of the TSV form (and keys of the JSON form), in order.
pub const COLUMNS: [&str; 17] = [
    "band", "sza", "vza", "raa", "aot", "wv", "alt_km", "input", "rho_path", "tg_path", "tg",
    "t_down", "t_up", "s", "toa", "rho_s", "clamped",
];

/// Parses one input line (`None` for lines to skip); `origin` names the input in errors.
pub fn parse_case(line: &str, n: usize, origin: &str) -> Result<Option<(String, Conditions, f64)>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with("band") {
        return Ok(None);
    }
    let bad = |m: String| VipError::bad_input(origin, format!("line {n}: {m}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 8 {
        return Err(bad(format!(
            "{} fields, 8 expected (band sza vza raa aot wv alt_km reflectance)",
            f.len()
        )));
    }
    let band = match f[0].trim_start_matches(['B', 'b']).parse::<usize>() {
        Ok(k @ 1..=12) => format!("B{k:02}"),
        _ => return Err(bad(format!("band '{}' is not B01..B12", f[0]))),
    };
    let mut v = [0.0; 7];
    for (i, (x, name)) in v
        .iter_mut()
        .zip(["sza", "vza", "raa", "aot", "wv", "alt_km", "reflectance"])
        .enumerate()
    {
        *x = f[i + 1]
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(format!("{name} '{}' is not a number", f[i + 1])))?;
    }
    let [sza, vza, raa, aot, wv, alt_km, refl] = v;
    if !(0.0..90.0).contains(&sza) || !(0.0..90.0).contains(&vza) {
        return Err(bad("zenith angles must be in [0, 90) degrees".into()));
    }
    if aot < 0.0 || wv < 0.0 {
        return Err(bad("AOT and water vapour cannot be negative".into()));
    }
    // relative azimuth folded into [0, 180]
    let raa = raa.rem_euclid(360.0);
    let raa = if raa > 180.0 { 360.0 - raa } else { raa };
    let c = Conditions {
        sza,
        vza,
        raa,
        aot,
        wv,
        alt: alt_km * 1000.0,
    };
    Ok(Some((band, c, refl)))
}

/// Longest input line, in bytes (a case line is a few tens).
pub const MAX_LINE: usize = 4096;

/// Evaluates every case of `input`.
pub fn probe(
    luts: &LutSet,
    mut input: impl BufRead,
    toa_input: bool,
    origin: &str,
) -> Result<Vec<ProbeCase>> {
    let mut out = vec![];
    let mut buf = Vec::new();
    for i in 0.. {
        let bad = |m: String| VipError::bad_input(origin, format!("line {}: {m}", i + 1));
        buf.clear();
        // a line is read only up to its limit, so an endless one costs no memory
        let n = (&mut input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| bad(e.to_string()))?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_LINE {
            return Err(bad(format!("longer than {MAX_LINE} bytes")));
        }
        let line = std::str::from_utf8(&buf).map_err(|_| bad("not UTF-8 text".into()))?;
        let Some((band, c, refl)) = parse_case(line, i + 1, origin)? else {
            continue;
        };
        let l = luts.band(&band).ok_or_else(|| {
            VipError::bad_input(origin, format!("line {}: no LUT for band {band}", i + 1))
        })?;
        let terms = l.terms(&c);
        let (toa, rho_s) = if toa_input {
            (refl, terms.surface(refl))
        } else {
            (terms.toa(refl), refl)
        };
        out.push(ProbeCase {
            band,
            conditions: c,
            input: refl,
            terms,
            toa,
            rho_s,
        });
    }
    Ok(out)
}

fn values(c: &ProbeCase) -> [f64; 15] {
    let (k, t) = (&c.conditions, &c.terms);
    [
        k.sza,
        k.vza,
        k.raa,
        k.aot,
        k.wv,
        k.alt / 1000.0,
        c.input,
        t.rho_path,
        t.tg_path,
        t.tg,
        t.t_down,
        t.t_up,
        t.s,
        c.toa,
        c.rho_s,
    ]
}

/// Writes the cases as TSV (header line first) or as a JSON array of objects.
pub fn write(cases: &[ProbeCase], json: bool, mut out: impl Write) -> std::io::Result<()> {
    if json {
        let list: Vec<serde_json::Value> = cases
            .iter()
            .map(|c| {
                let mut m = serde_json::Map::new();
                m.insert("band".into(), c.band.clone().into());
                for (k, v) in COLUMNS[1..16].iter().zip(values(c)) {
                    m.insert((*k).into(), v.into());
                }
                m.insert("clamped".into(), c.terms.clamped.clone().into());
                m.into()
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &list)?;
        writeln!(out)
    } else {
        writeln!(out, "{}", COLUMNS.join("\t"))?;
        for c in cases {
            let v: Vec<String> = values(c).iter().map(|x| format!("{x:.6}")).collect();
            let clamped = if c.terms.clamped.is_empty() {
                "-".to_string()
            } else {
                c.terms.clamped.join(",")
            };
            writeln!(out, "{}\t{}\t{clamped}", c.band, v.join("\t"))?;
        }
        Ok(())
    }
}
