//! Water vapour from the 910 nm (B12) / 865 nm (B11) band pair: the column U for which the two
//! bands' surface reflectances agree (the surface is spectrally flat across 865–910 nm to the
//! accuracy the method needs), solved with the full LUT model of each band.

use super::luts::{AtGeometry, BandLuts, Conditions, Terms};

/// Reference and absorbing bands.
pub const REFERENCE_BAND: &str = "B11";
pub const VAPOUR_BAND: &str = "B12";

/// A second continuum band below the reference: the surface reflectance expected in the
/// absorbing band is extrapolated linearly in wavelength from the two, ρ_abs = ρ_ref +
/// `k`·(ρ_ref − ρ_second), k = (λ_abs − λ_ref)/(λ_ref − λ_second). Surfaces are not flat
/// between 865 and 910 nm (soils rise by 3–14 %, canopies by up to 12 %, water falls by half:
/// `testdata/spectra`), and taking B12 = B11 biases the column by as much; differential-
/// absorption methods estimate the continuum from reference bands on both sides (APDA,
/// Schläpfer et al. 1998, Remote Sens. Environ. 65, 353), VENµS has none beyond 910 nm.
#[derive(Debug, Clone, Copy)]
pub struct Continuum<'a> {
    pub luts: &'a BandLuts,
    pub toa: f64,
    pub k: f64,
}

/// The water-vapour column (g/cm²) that makes the surface reflectance of `absorbing` the one
/// expected from `reference` (equal to it, or extrapolated with `continuum`) for TOA
/// reflectances `toa_ref` and `toa_abs` under `c` (its `wv` ignored), searched in
/// [0, `max_wv`]; `None` when no column in that range does (a reflectance too dark to tell,
/// clouds, or water vapour beyond the table).
pub fn retrieve(
    reference: &BandLuts,
    absorbing: &BandLuts,
    toa_ref: f64,
    toa_abs: f64,
    continuum: Option<Continuum>,
    c: &Conditions,
    max_wv: f64,
) -> Option<f64> {
    // more vapour, more absorption corrected: the absorbing band's surface reflectance grows
    // only the gaseous transmissions depend on the column: the rest is computed once
    fn at<'a>(l: &'a BandLuts, c: &Conditions) -> (AtGeometry<'a>, Terms) {
        let g = l.at_geometry(c.sza, c.vza, c.raa);
        let t = g.terms(c.alt, c.aot, c.wv);
        (g, t)
    }
    let ((g_ref, mut t_ref), (g_abs, mut t_abs)) = (at(reference, c), at(absorbing, c));
    let mut second = continuum.map(|s| at(s.luts, c));
    let mut gap = |wv: f64| {
        g_ref.set_vapour(&mut t_ref, c.alt, wv);
        g_abs.set_vapour(&mut t_abs, c.alt, wv);
        let rho_ref = t_ref.surface(toa_ref);
        let expected = match (continuum, second.as_mut()) {
            (Some(s), Some((g, t))) => {
                g.set_vapour(t, c.alt, wv);
                rho_ref + s.k * (rho_ref - t.surface(s.toa))
            }
            _ => rho_ref,
        };
        t_abs.surface(toa_abs) - expected
    };
    let (mut lo, mut hi) = (0.0, max_wv);
    let (glo, ghi) = (gap(lo), gap(hi));
    if !(glo <= 0.0 && ghi >= 0.0) {
        return None;
    }
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if gap(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-4 {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atmosphere::luts::tests::band_with;

    #[test]
    fn the_column_that_made_the_toa_is_found_again() {
        let (reference, absorbing) = (band_with(0.002), band_with(0.08));
        for (wv, rho, aot) in [(0.4, 0.2, 0.1), (2.0, 0.35, 0.4), (4.7, 0.1, 0.05)] {
            let c = Conditions {
                sza: 35.0,
                vza: 8.0,
                raa: 120.0,
                aot,
                wv,
                alt: 300.0,
            };
            let toa_ref = reference.terms(&c).toa(rho);
            let toa_abs = absorbing.terms(&c).toa(rho);
            let got = retrieve(&reference, &absorbing, toa_ref, toa_abs, None, &c, 6.0).unwrap();
            assert!((got - wv).abs() < 1e-3, "{wv}: {got}");
            // a surface rising by 0.02 per band step: found with the continuum, biased without
            let second = band_with(0.0);
            let toa_abs = absorbing.terms(&c).toa(rho + 0.02);
            let continuum = Continuum {
                luts: &second,
                toa: second.terms(&c).toa(rho - 0.02),
                k: 1.0,
            };
            let got = retrieve(
                &reference,
                &absorbing,
                toa_ref,
                toa_abs,
                Some(continuum),
                &c,
                6.0,
            );
            assert!((got.unwrap() - wv).abs() < 1e-3, "{wv}: {got:?}");
            let flat = retrieve(&reference, &absorbing, toa_ref, toa_abs, None, &c, 6.0);
            assert!(flat.is_none_or(|f| (f - wv).abs() > 0.05), "{wv}: {flat:?}");
        }
        // a TOA pair no column explains
        let c = Conditions {
            sza: 35.0,
            vza: 8.0,
            raa: 120.0,
            aot: 0.1,
            wv: 1.0,
            alt: 0.0,
        };
        assert_eq!(
            retrieve(&reference, &absorbing, 0.3, 0.9, None, &c, 6.0),
            None
        );
    }
}
