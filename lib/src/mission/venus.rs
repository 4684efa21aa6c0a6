//! The VENµS superspectral camera (VSSC): 12 bands on 4 tri-detectors, 5200 detectors per band.
//!
//! Sources (the project's domain reference, §1.2–1.3 and §6.1):
//! - centre wavelength and width: the nominal VSSC table (eoPortal), as listed in the L1 header
//!   `List_of_Band_Central_Wavelength` (420 … 910 nm);
//! - solar irradiance E0: band-integrated 6SV1.1 solar spectrum over the VENµS spectral responses
//!   (`testdata/sixs/6s_venus_srf_ref.json`), W m⁻² µm⁻¹;
//! - tri-detector of each band: MAJA `DetectorMap = [1,1,4,4,1,4,3,3,3,2,2,2]`;
//! - 5200 detectors per band: every per-detector GIPP list of the ICD has exactly 5200 entries;
//! - ground sampling 5.3 m at nadir in the VM1 orbit (720 km); products are resampled to 5 m.

/// One spectral band of the camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Native band code, `B01` … `B12`.
    pub code: &'static str,
    /// Nominal centre wavelength, nm.
    pub centre_nm: f64,
    /// Nominal width, nm.
    pub width_nm: f64,
    /// Mean exo-atmospheric solar irradiance over the band, W m⁻² µm⁻¹.
    pub solar_irradiance: f64,
    /// Tri-detector (1–4) that carries the band.
    pub detector: u8,
}

/// Ground sampling distance at nadir, VM1 orbit, in metres.
pub const GROUND_SAMPLING_M: f64 = 5.3;
/// Sampling of the L1C/L2A products, metres (VM1).
pub const PRODUCT_SAMPLING_M: f64 = 5.0;
/// Detectors per band array.
pub const DETECTORS: usize = 5200;
/// Significant bits of the raw counts.
pub const RAW_BITS: u32 = 10;
/// Largest raw count; counts at this value are saturated.
pub const RAW_MAX: u16 = (1 << RAW_BITS) - 1;
/// Mean orbit altitude of the VM1 phase, metres.
pub const ORBIT_ALTITUDE_M: f64 = 720_000.0;
/// Mission name as the native ICD spells it.
pub const MISSION: &str = "VENuS";

/// The 12 bands, in product order.
pub const BANDS: [Band; 12] = [
    band("B01", 420.0, 40.0, 1611.4, 1),
    band("B02", 443.0, 40.0, 1868.8, 1),
    band("B03", 490.0, 40.0, 1889.8, 4),
    band("B04", 555.0, 40.0, 1796.5, 4),
    band("B05", 620.0, 40.0, 1648.6, 1),
    band("B06", 620.0, 40.0, 1650.7, 4),
    band("B07", 667.0, 30.0, 1483.9, 3),
    band("B08", 702.0, 24.0, 1367.3, 3),
    band("B09", 742.0, 16.0, 1244.4, 3),
    band("B10", 782.0, 16.0, 1144.8, 2),
    band("B11", 865.0, 40.0, 953.8, 2),
    band("B12", 910.0, 20.0, 893.8, 2),
];

const fn band(code: &'static str, centre_nm: f64, width_nm: f64, e0: f64, detector: u8) -> Band {
    Band {
        code,
        centre_nm,
        width_nm,
        solar_irradiance: e0,
        detector,
    }
}

/// The band with native code `code` (`B01` … `B12`; `B1` … `B12` also accepted).
pub fn band_by_code(code: &str) -> Option<&'static Band> {
    let n: usize = code.strip_prefix('B')?.parse().ok()?;
    BANDS.get(n.checked_sub(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_bands_in_order_on_four_detectors() {
        for (i, b) in BANDS.iter().enumerate() {
            assert_eq!(b.code, format!("B{:02}", i + 1));
            assert!((1..=4).contains(&b.detector));
        }
        for d in 1..=4 {
            assert_eq!(BANDS.iter().filter(|b| b.detector == d).count(), 3);
        }
        assert!(BANDS.windows(2).all(|w| w[0].centre_nm <= w[1].centre_nm));
    }

    #[test]
    fn irradiance_matches_the_6s_reference_file() {
        let path = crate::testdata("sixs/6s_venus_srf_ref.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (i, b) in BANDS.iter().enumerate() {
            let e0 = v[format!("B{}", i + 1)]["aot0.1_rho0.1"]["E0"]
                .as_f64()
                .unwrap();
            assert!((e0 - b.solar_irradiance).abs() < 0.06, "{}: {e0}", b.code);
        }
    }

    #[test]
    fn band_lookup_accepts_both_spellings() {
        assert_eq!(band_by_code("B05").unwrap().centre_nm, 620.0);
        assert_eq!(band_by_code("B12").unwrap().code, "B12");
        assert_eq!(band_by_code("B7").unwrap().code, "B07");
        assert!(band_by_code("B13").is_none());
        assert!(band_by_code("B00").is_none());
    }
}
