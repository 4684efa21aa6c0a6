//! The per-pixel tests of the L2 cloud, snow and water masks (MAJA's, on VENµS bands).
//!
//! Every test reads Rayleigh-corrected reflectances (RCR: TOA inverted through the LUTs at
//! zero aerosol), so that a date and the site's composite of earlier clear dates compare
//! like with like whatever the sun and view angles. Bits are those of the VENµS L2 CLD annex
//! ([`crate::product::l2a::bits`]).
//!
//! - **REFL** (mono-temporal): blue RCR above [`CloudParams::blue_threshold`] and a flat
//!   spectrum (NIR / red inside [`CloudParams::nir_red`]): bright soils are redder than blue,
//!   vegetation has a high NIR / red, water a low one.
//! - **REFL_VAR** (multi-temporal, Hagolle et al. 2010): the blue rose over the composite by
//!   more than a threshold that grows with the composite's age, from
//!   [`CloudParams::var_blue_min`] by [`CloudParams::var_blue_delta`] per
//!   [`CloudParams::forgetting_days`] up to [`CloudParams::var_blue_max`], and red and NIR rose
//!   with it as under a white cloud: the cloud layer that raises the blue as observed raises
//!   a band of surface reflectance ρ by R(1 − ρ)² / (1 − Rρ) ([`white_cloud_rise`]); the red
//!   and NIR must rise by at least `k_red_blue` and `k_nir_blue` times that and by at most
//!   [`CloudParams::var_white_margin`] times it. Aerosols brighten the blue far more than
//!   the NIR; a surface change that brightens the red or the NIR much more than a cloud
//!   could (bare soil appearing under a crop, straw after a harvest, a flowering crop) is
//!   not a cloud either. A composite older than the forgetting duration is not used.
//!   (MAJA compares the same bands' variations with `K_Red_Blue` and `K_NIR_Blue` directly,
//!   on relative variations for the NIR; VIP reads the two factors against the white cloud's
//!   rise, which makes one value hold over dark soil and over dense vegetation alike.)
//!   The composite is kept as a flat-ground equivalent and relit by the day's light on the
//!   pixel's slope before it is compared (`crate::level2::clouds::slope_light`), and what
//!   REFL and REFL_VAR flag where the ground's pattern shows as before is cleared by the
//!   neighbourhood correlation test ([`crate::cloud::texture`]).
//! - **ALT**: the L1 stereo saw a cloud (B05/B06 parallax, [`crate::cloud::stereo`]; its mask
//!   covers a cloud wherever any detector sees it) and the pixel could be a cloud's: brighter
//!   in the blue than its composite by [`CloudParams::var_blue_min`], or without history, a
//!   flat spectrum with a blue over [`CloudParams::stereo_blue_min`].
//!
//! **Snow without SWIR.** VENµS has no 1.6 µm band, so the NDSI cannot be formed. Snow is
//! told from cloud by what the VENµS bands and the L1 stereo allow: snow is bright and white
//! in the visible, and either its NIR (865 nm) lies 5–20 % below its blue (ice absorption;
//! measured snow spectra of `testdata/spectra`: B11/B03 = 0.92 fresh, 0.88 aged; aerosols and
//! a sunny slope's light raise the ratio about as much, so this alone misses much snow) or the
//! L1 stereo measured it at the ground ([`StereoSeen::Ground`]). Where the history saw a dark
//! surface, snow by the stereo alone is [`Verdict::new_snow`], for the caller to confirm by the
//! relief's shading (`crate::level2::clouds`), which also turns "snow" without shading (a
//! cloud over snow, an overcast) into cloud.
//!
//! **Water**: NDVI (red, NIR) below [`CloudParams::water_ndvi_max`], NIR under
//! [`CloudParams::water_nir_max`] and a DEM slope under [`CloudParams::water_slope_max`]
//! (cloud shadows on land are dark too, but keep a positive NDVI).

use crate::mission::venus::BANDS;
use crate::product::l2a::bits;

/// Number of spectral bands.
pub const NB: usize = BANDS.len();

/// Parameters of the mask tests; defaults are the VENµS L2COMM's where it has them (see
/// [`crate::level2::l2comm`] for the element names).
#[derive(Debug, Clone, PartialEq)]
pub struct CloudParams {
    /// Bands (0-based) of the tests: blue, red, near infrared, and the correlation band.
    pub blue: usize,
    pub red: usize,
    pub nir: usize,
    pub correl: usize,
    /// Band whose darkening confirms a shadow (NIR: shadows are deepest where the sky adds
    /// least).
    pub shadow_band: usize,
    /// REFL: blue RCR above (`Cloud_Blue_Reflectance_Threshold`).
    pub blue_threshold: f64,
    /// NIR / red of a cloud lies inside (`Nir_Red_Ratio_Min/Max_Threshold`).
    pub nir_red: (f64, f64),
    /// REFL_VAR threshold on the blue increase: minimum, maximum, growth per forgetting
    /// duration (`Min/Max_Threshold_Var_Blue`, `Delta_Threshold`).
    pub var_blue_min: f64,
    pub var_blue_max: f64,
    pub var_blue_delta: f64,
    /// Days after which a composite pixel no longer serves the variation test
    /// (`Cloud_Forgetting_Duration`).
    pub forgetting_days: f64,
    /// Red and NIR increases must be at least these times what a white cloud raising the
    /// blue as observed gives them (`K_Red_Blue`, `K_NIR_Blue`; [`white_cloud_rise`]).
    pub k_red_blue: f64,
    pub k_nir_blue: f64,
    /// ... and the red and NIR increases at most this times what a white cloud raising the
    /// blue as observed gives them ([`white_cloud_rise`]), plus 0.02 (VIP: real clouds are
    /// not quite white, and the Rayleigh correction at the ground's pressure takes too much
    /// blue off a cloud top).
    pub var_white_margin: f64,
    /// Correlation test: window half size in metres (`N_Correl` coarse pixels of 100 m), the
    /// correlation above which a detection is a surface change (`Correl_Threshold`, %/100),
    /// the fewest valid cells (`Min_Pixel_Correl`).
    pub correl_half_m: f64,
    pub correl_threshold: f64,
    pub correl_min_cells: usize,
    /// Dilation of the cloud mask, metres (`SE_Cloud_Radius` coarse pixels of 100 m).
    pub dilation_m: f64,
    /// Cloud altitude where the stereo measured none, metres above the ground
    /// (`Default_Altitude`), and the search range around it for shadows by darkening
    /// (`Delta_H_Min/Max/Step`): MAJA's SHADVAR, read and checked, not used (VIP casts
    /// shadows from the stereo altitudes only).
    pub default_altitude: f64,
    pub delta_h: (f64, f64, f64),
    /// Highest cloud altitude, metres (`Max_Cloud_Altitude`).
    pub max_altitude: f64,
    /// A shadow darkens the shadow band to less than this fraction of the composite
    /// (`Shad_Var_Darkening_Max`).
    pub shadow_darkening_max: f64,
    /// Above this percentage of cloudy pixels the product is not issued
    /// (`Max_Cloud_Percentage`).
    pub max_cloud_percentage: f64,
    /// The context forgets composite pixels and stack dates older than this, days
    /// (`Composite/Max_Age`), and stacks at most this many dates (`Number_Of_Stack_Images`).
    pub max_age_days: u32,
    pub n_stack: usize,
    /// ALT: blue RCR above which a pixel of the L1 stereo mask is cloudy (VIP).
    pub stereo_blue_min: f64,
    /// Band beyond the red edge (B09, 742 nm) and the ratio to the red above which a white
    /// pixel is snow mixed with vegetation (VIP).
    pub edge: usize,
    pub snow_red_edge_min: f64,
    /// Snow: blue RCR above, NIR / blue below (VIP; no L2COMM element).
    pub snow_blue_min: f64,
    pub snow_nir_blue_max: f64,
    /// Water: NDVI below (`Water_NDVI_Threshold`), NIR below (`Water_Reflectance_Threshold`),
    /// slope below (`Water_Slope_Threshold`, rise over run).
    pub water_ndvi_max: f64,
    pub water_nir_max: f64,
    pub water_slope_max: f64,
}

impl Default for CloudParams {
    fn default() -> Self {
        CloudParams {
            blue: 2,
            red: 6,
            nir: 10,
            correl: 2,
            shadow_band: 10,
            blue_threshold: 0.25,
            nir_red: (0.5, 2.0),
            var_blue_min: 0.03,
            var_blue_max: 0.08,
            var_blue_delta: 0.03,
            forgetting_days: 30.0,
            k_red_blue: 0.5,
            k_nir_blue: 0.5,
            var_white_margin: 1.5,
            correl_half_m: 300.0,
            correl_threshold: 0.90,
            correl_min_cells: 5,
            dilation_m: 200.0,
            default_altitude: 2000.0,
            delta_h: (-500.0, 500.0, 100.0),
            max_altitude: 10000.0,
            shadow_darkening_max: 0.9,
            max_cloud_percentage: 90.0,
            max_age_days: 30,
            n_stack: 10,
            stereo_blue_min: 0.15,
            edge: 8,
            snow_red_edge_min: 1.1,
            snow_blue_min: 0.2,
            snow_nir_blue_max: 0.95,
            water_ndvi_max: 0.0,
            water_nir_max: 0.1,
            water_slope_max: 0.05,
        }
    }
}

/// What the L1 stereo (the L1C CLD band) says of a pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StereoSeen {
    /// Not measured, or dark.
    Nothing,
    /// In the L1 cloud mask.
    Cloud,
    /// Bright, and its correlation found no parallax: at the ground.
    Ground,
}

impl StereoSeen {
    /// From an L1C CLD band value ([`crate::cloud::stereo::CLD_CLOUD`], `CLD_GROUND`).
    pub fn from_band(v: u8) -> StereoSeen {
        match i16::from(v) {
            crate::cloud::stereo::CLD_CLOUD => StereoSeen::Cloud,
            crate::cloud::stereo::CLD_GROUND => StereoSeen::Ground,
            _ => StereoSeen::Nothing,
        }
    }
}

/// The site's composite at one pixel: its RCR and its age in days.
#[derive(Debug, Clone, Copy)]
pub struct Composite<'a> {
    pub rcr: &'a [f64; NB],
    pub age_days: f64,
}

/// What the tests decide for one pixel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdict {
    /// CLD bits of the tests (REFL, REFL_VAR, ALT); the summary and extension bits come later.
    pub cld: u8,
    pub snow: bool,
    /// Snow only by the stereo's ground verdict where the history saw a dark surface: fresh
    /// snow, or the ground's texture through a thin cloud; the caller confirms it by the
    /// relief's shading or takes it for cloud.
    pub new_snow: bool,
    pub water: bool,
}

impl CloudParams {
    /// REFL_VAR threshold on the blue increase over a composite `age_days` old.
    pub fn var_threshold(&self, age_days: f64) -> f64 {
        (self.var_blue_min + self.var_blue_delta * age_days / self.forgetting_days)
            .min(self.var_blue_max)
    }

    /// The tests on one pixel: its RCR, the same corrected for the illumination of its slope
    /// (the snow test reads it: on a slope facing the sun the direct light, a larger share of
    /// the near infrared's than of the blue's, raises the NIR / blue of snow above a cloud's),
    /// the composite (if any), what the L1 stereo saw there, and the terrain slope (rise
    /// over run).
    pub fn classify(
        &self,
        rcr: &[f64; NB],
        lit: &[f64; NB],
        composite: Option<Composite>,
        seen: StereoSeen,
        slope: f64,
    ) -> Verdict {
        let ground = seen == StereoSeen::Ground;
        let (b, r, n) = (rcr[self.blue], rcr[self.red], rcr[self.nir]);
        let nir_red = if r > 0.0 { n / r } else { f64::INFINITY };
        let flat = nir_red >= self.nir_red.0 && nir_red <= self.nir_red.1;
        let mut v = Verdict::default();
        // the stereo mask is made on a 20 m correlation grid and spreads over the clear
        // pixels around a cloud: it flags the pixels whose spectrum could be a cloud's
        let stereo = seen == StereoSeen::Cloud
            && match composite {
                // brighter in the blue than the history: a cloud's edge is, whatever the
                // other bands (on different detectors) see there
                Some(c) => b - c.rcr[self.blue] > self.var_blue_min,
                None => flat && b > self.stereo_blue_min,
            };
        if stereo {
            v.cld |= bits::CLD_ALT;
        }
        // snow mixed with vegetation (forest, shrubs) keeps a red edge: white in the visible,
        // B09 well above B07; where the history saw a dark surface a new white pixel is taken
        // for a cloud, as the surface cannot be told from one under a thin cloud
        let (lb, lr, ln) = (lit[self.blue], lit[self.red], lit[self.nir]);
        let lit_flat = lr > 0.0 && ln / lr >= self.nir_red.0 && ln / lr <= self.nir_red.1;
        let red_edge = lb >= lr * 0.9 && lit[self.edge] > self.snow_red_edge_min * lr;
        let was_bright = composite.is_none_or(|c| c.rcr[self.blue] > self.snow_blue_min);
        // white and bright where the stereo measured the ground: snow whatever its NIR (the
        // aerosols and the light of a sunny slope raise snow's NIR / blue as much as ice
        // absorption lowers it); where the history saw a dark surface, the ground's texture
        // may be showing through a thin cloud: new snow, to be confirmed
        let white_ground = ground && lb >= 0.9 * lr;
        let bright_white = !stereo && lit_flat && lb > self.snow_blue_min;
        let snow = bright_white
            && (ln < self.snow_nir_blue_max * lb || (red_edge && was_bright) || white_ground);
        if snow {
            v.snow = true;
            v.new_snow = !was_bright && ln >= self.snow_nir_blue_max * lb && !red_edge;
            return v;
        }
        // bright surfaces the stereo put at the ground are not clouds by their brightness
        // alone (a thin cloud over them is still caught by the history)
        if flat && b > self.blue_threshold && !ground {
            v.cld |= bits::CLD_REFL;
        }
        if let Some(c) = composite.filter(|c| c.age_days <= self.forgetting_days) {
            let before = |band: usize| c.rcr[band];
            let db = b - before(self.blue);
            let (dr, dn) = (r - before(self.red), n - before(self.nir));
            let albedo = white_cloud_albedo(db, before(self.blue));
            let white = |band: usize| white_cloud_rise(albedo, before(band));
            let within = |rise: f64, band: usize, k: f64| {
                rise > k * white(band)
                    && rise <= self.var_white_margin * white(band) + WHITE_TOLERANCE
            };
            if db > self.var_threshold(c.age_days)
                && within(dr, self.red, self.k_red_blue)
                && within(dn, self.nir, self.k_nir_blue)
            {
                v.cld |= bits::CLD_REFL_VAR;
            }
        }
        if v.cld == 0 {
            let ndvi = (n - r) / (n + r);
            v.water = ndvi < self.water_ndvi_max
                && n < self.water_nir_max
                && slope < self.water_slope_max;
        }
        v
    }
}

/// Absolute tolerance on the rise a white cloud gives a band (reflectance).
const WHITE_TOLERANCE: f64 = 0.02;

/// How much a conservative, spectrally flat cloud layer of albedo `albedo` raises the
/// reflectance `rho` of the Lambertian surface under it: R(1 − ρ)² / (1 − Rρ) (adding of a
/// layer whose transmittance is 1 − R over the surface; the rise is never negative: a
/// cloud darkens no surface it covers, only those it shades).
pub fn white_cloud_rise(albedo: f64, rho: f64) -> f64 {
    let rho = rho.clamp(0.0, 0.99);
    albedo * (1.0 - rho).powi(2) / (1.0 - albedo * rho)
}

/// The albedo of the white cloud layer that raises the reflectance `rho` by `rise`
/// ([`white_cloud_rise`] inverted), within 0 and 1.
pub fn white_cloud_albedo(rise: f64, rho: f64) -> f64 {
    let rho = rho.clamp(0.0, 0.99);
    (rise / ((1.0 - rho).powi(2) + rise * rho)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(v: f64) -> [f64; NB] {
        [v; NB]
    }

    /// A PROSAIL-like canopy: dark blue and red, bright NIR.
    fn canopy() -> [f64; NB] {
        let mut s = [0.03; NB];
        s[6] = 0.03;
        s[10] = 0.35;
        s
    }

    #[test]
    fn a_bright_white_pixel_is_a_cloud_and_a_canopy_is_not() {
        let p = CloudParams::default();
        assert_eq!(
            p.classify(&flat(0.4), &flat(0.4), None, StereoSeen::Nothing, 0.0)
                .cld,
            bits::CLD_REFL
        );
        assert_eq!(
            p.classify(&canopy(), &canopy(), None, StereoSeen::Nothing, 0.0),
            Verdict::default()
        );
    }

    #[test]
    fn the_variation_threshold_grows_with_age_and_stops_at_the_maximum() {
        let p = CloudParams::default();
        assert!((p.var_threshold(0.0) - 0.03).abs() < 1e-12);
        assert!((p.var_threshold(15.0) - 0.045).abs() < 1e-12);
        assert!((p.var_threshold(300.0) - 0.08).abs() < 1e-12);
    }

    #[test]
    fn a_thin_cloud_is_caught_by_the_history_and_haze_is_not() {
        let p = CloudParams::default();
        let before = canopy();
        let c = Composite {
            rcr: &before,
            age_days: 2.0,
        };
        // a thin cloud of albedo 0.08 (optical thickness about 1), by the adding of its
        // reflections with the surface's: R + T²ρ / (1 − Rρ), T = 1 − R
        let over = |rho: f64, r: f64| r + (1.0 - r).powi(2) * rho / (1.0 - r * rho);
        let cloudy = before.map(|v| over(v, 0.08));
        let v = p.classify(&cloudy, &cloudy, Some(c), StereoSeen::Nothing, 0.0);
        assert_eq!(v.cld, bits::CLD_REFL_VAR);
        // haze brightens the blue much more than the NIR
        let mut hazy = before;
        hazy[2] += 0.06;
        hazy[6] += 0.025;
        hazy[10] += 0.01;
        assert_eq!(
            p.classify(&hazy, &hazy, Some(c), StereoSeen::Nothing, 0.0)
                .cld,
            0
        );
        // bare soil appearing after a harvest brightens the red much more than the blue
        let mut soil = before;
        soil[2] += 0.06;
        soil[6] += 0.15;
        soil[10] += 0.05;
        assert_eq!(
            p.classify(&soil, &soil, Some(c), StereoSeen::Nothing, 0.0)
                .cld,
            0
        );
        // straw after a harvest: blue up by 0.15 as under a cloud, but the NIR up by 0.23
        // where a white cloud could add 0.11
        let mut straw = before;
        straw[2] = 0.2;
        straw[6] = 0.29;
        straw[10] = 0.58;
        assert_eq!(
            p.classify(&straw, &straw, Some(c), StereoSeen::Nothing, 0.0)
                .cld,
            0
        );
        let thick = before.map(|v| over(v, 0.3));
        assert_eq!(
            p.classify(&thick, &thick, Some(c), StereoSeen::Nothing, 0.0)
                .cld,
            bits::CLD_REFL_VAR | bits::CLD_REFL
        );
        // a composite past the forgetting duration is not used
        let old = Composite {
            rcr: &before,
            age_days: 40.0,
        };
        assert_eq!(
            p.classify(&cloudy, &cloudy, Some(old), StereoSeen::Nothing, 0.0)
                .cld,
            0
        );
    }

    #[test]
    fn snow_is_white_with_a_lower_nir_and_stereo_overrules_it() {
        let p = CloudParams::default();
        // the aged snow of testdata/spectra: B03 0.874, B07 0.878, B11 0.769
        let mut snow = flat(0.87);
        snow[10] = 0.769;
        let v = p.classify(&snow, &snow, None, StereoSeen::Nothing, 0.0);
        assert!(v.snow && v.cld == 0, "{v:?}");
        let v = p.classify(&snow, &snow, None, StereoSeen::Cloud, 0.0);
        assert!(!v.snow && v.cld & bits::CLD_ALT != 0, "{v:?}");
        // the stereo mask alone does not make a canopy cloudy
        assert_eq!(
            p.classify(&canopy(), &canopy(), None, StereoSeen::Cloud, 0.0)
                .cld,
            0
        );
        // a cloud over the Rayleigh-overcorrected blue is flat or redder: a cloud
        let v = p.classify(&flat(0.6), &flat(0.6), None, StereoSeen::Nothing, 0.0);
        assert!(!v.snow && v.cld == bits::CLD_REFL);
    }

    #[test]
    fn water_is_dark_in_the_nir_on_flat_ground() {
        let p = CloudParams::default();
        let mut w = [0.05; NB];
        w[6] = 0.03;
        w[10] = 0.01;
        assert!(p.classify(&w, &w, None, StereoSeen::Nothing, 0.0).water);
        assert!(!p.classify(&w, &w, None, StereoSeen::Nothing, 0.3).water);
        assert!(
            !p.classify(&canopy(), &canopy(), None, StereoSeen::Nothing, 0.0)
                .water
        );
    }

    #[test]
    fn a_white_cloud_rise_is_the_adding_of_its_reflections_and_inverts() {
        // the reflections summed one by one: R, then T ρ T, T ρ R ρ T, ...
        let (r, rho): (f64, f64) = (0.3, 0.4);
        let t = 1.0 - r;
        let series: f64 = (0..60).map(|k| t * rho * (r * rho).powi(k) * t).sum();
        assert!((white_cloud_rise(r, rho) - (r + series - rho)).abs() < 1e-12);
        for rho in [0.0, 0.05, 0.3, 0.8] {
            let rise = white_cloud_rise(0.2, rho);
            assert!(rise >= 0.0);
            assert!((white_cloud_albedo(rise, rho) - 0.2).abs() < 1e-12);
        }
    }
}
