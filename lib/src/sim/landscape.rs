//! The simulated world: terrain altitude and the surface reflectance spectrum of every ground
//! point, both continuous functions of map position, so the site-grid truth and what each
//! detector sees come from one source.
//!
//! What lies where, by priority: water (lakes in the low ground with sharp shores, rivers with
//! riparian trees, an optional round lake), roads, villages (a street grid with roofs of tiles,
//! metal or concrete, yards and gardens), forests (stands of 1–3 ha, each deciduous or
//! evergreen with its own density, chlorophyll and age, one in eight a clearing or a young
//! plantation, with crowns and gaps), and everywhere else agricultural parcels (a Voronoi
//! tessellation of 2–8 ha fields, each with its own crop, calendar, vigour, leaf chlorophyll
//! and water, soil and direction of work: orchard rows, tramlines, harrow passes), separated by
//! dirt tracks and hedges; snow above the season's snow line. Within a parcel the leaf area
//! varies by ±20 % over 5–80 m and is lower on the 15 m headlands, and the soil's surface
//! moisture varies over 10–60 m, so that bare and saturated fields have texture too.
//! Each point's spectrum is a mixture of spectra of the committed table
//! (`testdata/spectra/`: PROSAIL canopies, soils, urban materials, water, snow) drawn with that
//! point's own parameters (leaf area varies within a field, soil moisture across the site), not
//! a scaled copy of a class spectrum, so the relations the L2 retrievals assume hold only as
//! well as they do in nature.
//!
//! Edges are as sharp as the instrument lets them be: every boundary is a transition of about
//! 5 m (a step seen through a Gaussian point spread function of σ ≈ 2.3 m, VENµS's MTF of about
//! 0.3 at Nyquist), and the finest textures (tree crowns of ~9 m, orchard rows and tramlines of
//! 12–28 m) are attenuated as that MTF would, so that sampling the world at a pixel centre is
//! what the detectors see. Seen at 10 m, the red and NIR structure (spectral slope, variance
//! below 40 m, variogram, edge density) lies within the range of real Sentinel-2 chips
//! (`testdata/texture/`, measured by `testkit/tests/texture.rs`).

use chrono::NaiveDate;

use super::noise::{floor, hash, mix, smoothstep, unit, Field};
use super::phenology::{Crop, Forest, Season};
use super::spectra::{self, Material, Soil};

pub use super::spectra::NB;

/// Half-width of every boundary, metres (see the module doc).
const EDGE_M: f64 = 4.0;
/// Mean size of an agricultural parcel, metres.
const PARCEL_M: f64 = 220.0;
/// Size of the cells that hold at most one village each, metres.
const VILLAGE_CELL_M: f64 = 2600.0;
/// Street grid of villages, metres.
const BLOCK_M: f64 = 44.0;
/// Mean size of a forest stand, metres.
const STAND_M: f64 = 130.0;

/// Terrain and land cover of one simulated site on one date.
#[derive(Debug, Clone)]
pub struct Landscape {
    /// Map point the fields are anchored to (keeps field arguments small).
    origin: (f64, f64),
    seed: u64,
    base_altitude: f64,
    relief: f64,
    season: Season,
    terrain: Field,
    detail: Field,
    within: Field,
    patches: Field,
    moisture: Field,
    forest: Field,
    evergreen: Field,
    crowns: Field,
    roads: [Field; 2],
    river: Field,
    water: Field,
    snow_edge: Field,
    /// Centre and radius of a lake, metres.
    lake: Option<((f64, f64), f64)>,
}

impl Landscape {
    /// A landscape for a site of `extent_m` metres around `origin`, with `relief_m` of relief,
    /// in the season of 15 March at 44° N until [`Landscape::on`] says otherwise.
    pub fn new(seed: u64, origin: (f64, f64), extent_m: f64, relief_m: f64) -> Self {
        let field = |k: u64, scale: f64, octaves: u32| Field {
            seed: mix(seed ^ k.wrapping_mul(0x1234_5678_9abc)),
            scale,
            octaves,
        };
        let mountains = (extent_m / 3.0).clamp(800.0, 8000.0);
        Landscape {
            origin,
            seed,
            base_altitude: 150.0,
            relief: relief_m,
            season: Season::on(NaiveDate::from_ymd_opt(2024, 3, 15).expect("date"), 44.0),
            terrain: field(1, mountains, 4),
            detail: field(2, 300.0, 2),
            within: field(3, 40.0, 4),
            patches: field(13, 30.0, 2),
            moisture: field(4, 700.0, 2),
            forest: field(5, 1800.0, 3),
            evergreen: field(6, 2500.0, 1),
            crowns: field(7, 9.0, 1),
            roads: [field(8, 5000.0, 1), field(9, 6500.0, 1)],
            river: field(10, 8000.0, 1),
            water: field(11, 2000.0, 2),
            snow_edge: field(12, 250.0, 2),
            lake: None,
        }
    }

    /// The same land on `date` at latitude `lat_deg`: crops, forests and snow as the season
    /// makes them (the terrain and the layout of fields do not change).
    pub fn on(mut self, date: NaiveDate, lat_deg: f64) -> Self {
        self.season = Season::on(date, lat_deg);
        self
    }

    /// Adds a round lake of `radius` metres centred on map point `centre`.
    pub fn with_lake(mut self, centre: (f64, f64), radius: f64) -> Self {
        self.lake = Some((centre, radius));
        self
    }

    /// The season the surfaces are in.
    pub fn season(&self) -> &Season {
        &self.season
    }

    /// Terrain altitude at map point (E, N), metres.
    pub fn altitude(&self, e: f64, n: f64) -> f64 {
        let (x, y) = (e - self.origin.0, n - self.origin.1);
        let shape = smoothstep(0.2, 0.8, self.terrain.at(x, y));
        self.base_altitude + self.relief * (0.95 * shape + 0.05 * self.detail.at(x, y))
    }

    /// Surface reflectance spectrum (B01..B12) at map point (E, N) of altitude `h`.
    pub fn reflectance(&self, e: f64, n: f64, h: f64) -> [f64; NB] {
        self.ground(e, n, h).spectrum()
    }

    /// What covers map point (E, N) of altitude `h`.
    pub fn ground(&self, e: f64, n: f64, h: f64) -> Ground {
        let (x, y) = (e - self.origin.0, n - self.origin.1);
        // the table's wet soils are saturated ones (5–9 times darker than dry): surface soils in
        // the field span the first 40 % of that range
        let moisture = 0.4 * self.moisture.at(x, y);
        let near = self.near(x, y);
        // forests on villages and fields; under a closed canopy those do not show
        let cover = self.forest_cover(&near, x, y, h);
        let mut g = if cover >= 1.0 {
            self.forest(x, y, moisture)
        } else {
            let mut g = self
                .village(x, y, moisture)
                .unwrap_or_else(|| self.fields(x, y, moisture));
            if cover > 0.0 {
                g.blend(cover, &self.forest(x, y, moisture));
            }
            g
        };
        g.forest = cover;
        self.roads(&near, &mut g, x, y);
        self.waters(&near, &mut g, e, n, x, y, h);
        // snow on everything but open water, thinner over forest canopies
        let s = &self.season;
        // the edge field moves the line by ±60 m: well below it, no snow whatever its value
        if h + 60.0 - s.snow_line_m <= -15.0 {
            return g;
        }
        let above = h + 120.0 * (self.snow_edge.at(x, y) - 0.5) - s.snow_line_m;
        let snow = smoothstep(-15.0, 15.0, above) * (1.0 - g.water);
        if snow > 0.0 {
            g.snow = snow * (1.0 - 0.45 * g.forest);
            g.overlay(g.snow, Part::Snow(s.snow_age));
        }
        g
    }

    /// Agricultural parcels, with tracks and hedges along some of their borders.
    fn fields(&self, x: f64, y: f64, moisture: f64) -> Ground {
        let cells = Voronoi::at(self.seed ^ 0xf1e1d, PARCEL_M, x, y);
        let p = Parcel::of(self.seed, cells.nearest);
        let mut g = Ground::of(p.surface(self, x, y, moisture, cells.edge_distance));
        // a 5 m transition into the neighbouring parcel
        let into = 1.0 - smoothstep(-EDGE_M, EDGE_M, cells.edge_distance);
        if into > 0.0 {
            let q = Parcel::of(self.seed, cells.second);
            g.overlay(into, q.surface(self, x, y, moisture, -cells.edge_distance));
        }
        // borders: one in four a dirt track (4 m), one in five a hedge (7 m)
        if cells.edge_distance >= 3.5 + EDGE_M {
            return g;
        }
        let border = unit(hash(
            self.seed ^ 0xb0de7,
            cells.nearest.0.min(cells.second.0) * 7919 + cells.nearest.1.min(cells.second.1),
            cells.nearest.0.max(cells.second.0) * 7919 + cells.nearest.1.max(cells.second.1),
            3,
        ));
        let band = |half: f64| 1.0 - smoothstep(half - EDGE_M, half + EDGE_M, cells.edge_distance);
        if border < 0.25 {
            g.overlay(band(2.0), Part::Material(Material::Gravel));
        } else if border < 0.45 {
            g.overlay(
                band(3.5),
                Part::Canopy(spectra::Canopy {
                    lai: 3.5,
                    cab: 45.0,
                    cw: 0.015,
                    brown: self.season.forest(Forest::Deciduous, 1.0).brown * 0.8,
                    soil_moisture: moisture,
                }),
            );
        }
        g
    }

    /// Villages: at most one per cell of [`VILLAGE_CELL_M`], a few hundred metres across, with
    /// a street grid of their own orientation.
    fn village(&self, x: f64, y: f64, moisture: f64) -> Option<Ground> {
        let (i, j) = (floor(x / VILLAGE_CELL_M), floor(y / VILLAGE_CELL_M));
        let h = hash(self.seed ^ 0x0b1a6e, i, j, 0);
        if unit(h) > 0.55 {
            return None;
        }
        let c = |k: u64| 0.3 + 0.4 * unit(mix(h ^ k));
        let centre = (
            (i as f64 + c(1)) * VILLAGE_CELL_M,
            (j as f64 + c(2)) * VILLAGE_CELL_M,
        );
        let radius = 180.0 + 320.0 * unit(mix(h ^ 3));
        let (dx, dy) = (x - centre.0, y - centre.1);
        let dist = dx.hypot(dy);
        // the ragged border lies within 0.85–1.15 of the distance: far out, no need to draw it
        if dist * 0.85 >= radius + EDGE_M {
            return None;
        }
        let r = dist * (0.85 + 0.3 * self.detail.at(x * 3.0, y * 3.0));
        let inside = 1.0 - smoothstep(radius - EDGE_M, radius + EDGE_M, r);
        if inside <= 0.0 {
            return None;
        }
        let angle = std::f64::consts::PI * unit(mix(h ^ 4));
        let (s, co) = angle.sin_cos();
        let (u, v) = (dx * co + dy * s, -dx * s + dy * co);
        let (bu, bv) = (u.rem_euclid(BLOCK_M), v.rem_euclid(BLOCK_M));
        // streets 7 m wide along both axes
        let street = |w: f64| 1.0 - smoothstep(7.0 - EDGE_M, 7.0 + EDGE_M, w).min(1.0);
        let on_street = street(bu).max(street(bv));
        // four lots per block: a roof (12–16 m) in a yard or garden
        let lot = |w: f64| {
            ((w - 7.0) / ((BLOCK_M - 7.0) / 2.0))
                .floor()
                .clamp(0.0, 1.0) as i64
        };
        let (bi, bj) = ((u / BLOCK_M).floor() as i64, (v / BLOCK_M).floor() as i64);
        let lh = hash(h, bi * 2 + lot(bu), bj * 2 + lot(bv), 5);
        let half = (BLOCK_M - 7.0) / 4.0;
        let (lu, lv) = (
            (bu - 7.0).rem_euclid(2.0 * half) - half,
            (bv - 7.0).rem_euclid(2.0 * half) - half,
        );
        let size = 6.0 + 2.0 * unit(mix(lh));
        let roof = 1.0 - smoothstep(size - EDGE_M, size + EDGE_M, lu.abs().max(lv.abs()));
        let material = match unit(mix(lh ^ 9)) {
            u if u < 0.55 => Material::RedTile,
            u if u < 0.75 => Material::MetalRoof,
            _ => Material::Concrete,
        };
        let yard = if unit(mix(lh ^ 11)) < 0.5 {
            Part::Canopy(spectra::Canopy {
                lai: 2.2 * (0.6 + 0.8 * self.within.at(x, y)),
                cab: 40.0,
                cw: 0.014,
                brown: 0.15,
                soil_moisture: moisture,
            })
        } else {
            Part::Material(Material::Concrete)
        };
        let mut g = self.fields(x, y, moisture);
        let mut town = Ground::of(yard);
        town.overlay(roof, Part::Material(material));
        town.overlay(on_street, Part::Material(Material::Asphalt));
        g.blend(inside, &town);
        Some(g)
    }

    /// Forest cover (0–1) on the wetter and higher ground.
    fn forest_cover(&self, near: &Near, x: f64, y: f64, h: f64) -> f64 {
        let slope = 0.15 * ((h - self.base_altitude) / self.relief.max(1.0));
        // field units to metres: the field moves by about 1 over its scale
        let metres = |f: f64| (f + slope - 0.62) * self.forest.scale / 1.3;
        if metres(near.forest) <= -EDGE_M - NEAR_SLACK {
            return 0.0;
        }
        smoothstep(-EDGE_M, EDGE_M, metres(self.forest.at(x, y)))
    }

    /// The forest canopy at (x, y): stands of 1–3 ha, each of its own type, density and age
    /// (one in eight a clearing or a young plantation), with crowns and gaps.
    fn forest(&self, x: f64, y: f64, moisture: f64) -> Ground {
        let stands = Voronoi::at(self.seed ^ 0x57a4d, STAND_M, x, y);
        // crowns of ~9 m: their contrast attenuated as the MTF does
        let crown = 0.7 + 0.6 * self.crowns.at(x, y);
        let within = 0.9 + 0.2 * self.within.at(x, y);
        let evergreen = self.evergreen.at(x, y);
        let mut forest =
            Ground::of(self.stand(stands.nearest, evergreen, within * crown, moisture));
        let into = 1.0 - smoothstep(-EDGE_M, EDGE_M, stands.edge_distance);
        if into > 0.0 {
            let other = self.stand(stands.second, evergreen, within * crown, moisture);
            forest.overlay(into, other);
        }
        forest
    }

    /// The canopy of forest stand `id` where the evergreen field is `evergreen`, its leaf area
    /// scaled by `texture`.
    fn stand(&self, id: (i64, i64), evergreen: f64, texture: f64, moisture: f64) -> Part {
        let h = hash(self.seed ^ 0x57a4d, id.0, id.1, 6);
        let u = |k: u64| unit(mix(h ^ k));
        // evergreen stands where the field says so, a few mixed in elsewhere
        let kind = if u(1) < smoothstep(0.35, 0.75, evergreen) {
            Forest::Evergreen
        } else {
            Forest::Deciduous
        };
        // density: 0.4–1.15 of the type's leaf area (age, thinning); one stand in eight a
        // clearing or a young plantation (0.1–0.35)
        let density = if u(2) < 0.125 {
            0.1 + 0.25 * u(3)
        } else {
            0.4 + 0.75 * u(3)
        };
        let c = self.season.forest(kind, density);
        let base_cab = if kind == Forest::Evergreen {
            45.0
        } else {
            32.0
        };
        Part::Canopy(spectra::Canopy {
            lai: c.lai * texture,
            cab: base_cab + 20.0 * u(4),
            cw: 0.014 + 0.012 * u(5),
            // stands under stress or of older leaves: up to 0.15 more brown
            brown: (c.brown + 0.15 * u(6).powi(2)).min(1.0),
            soil_moisture: moisture.max(0.25),
        })
    }

    /// Two families of roads (6 m of asphalt) along the contours of smooth fields.
    fn roads(&self, near: &Near, g: &mut Ground, x: f64, y: f64) {
        for (r, _) in self.roads.iter().zip(near.roads).filter(|(_, near)| *near) {
            let d = (r.at(x, y) - 0.5).abs() * r.scale / 1.2;
            let on = 1.0 - smoothstep(3.0 - EDGE_M, 3.0 + EDGE_M, d);
            if on > 0.0 {
                g.overlay(on, Part::Material(Material::Asphalt));
                g.forest *= 1.0 - on;
            }
        }
    }

    /// Lakes in the valleys, a river with trees on its banks, and the optional round lake.
    #[allow(clippy::too_many_arguments)]
    fn waters(&self, near: &Near, g: &mut Ground, e: f64, n: f64, x: f64, y: f64, h: f64) {
        // river: 10–30 m wide, riparian trees 15 m on each side
        let rd = if near.river {
            (self.river.at(x, y) - 0.5).abs() * self.river.scale / 1.2
        } else {
            f64::INFINITY
        };
        // half-width and banks reach 30 m at most: beyond, no need to draw them
        let half = if rd < 30.0 + EDGE_M {
            5.0 + 10.0 * self.detail.at(x, y)
        } else {
            15.0
        };
        let banks = 1.0 - smoothstep(half + 15.0 - EDGE_M, half + 15.0 + EDGE_M, rd);
        if banks > 0.0 {
            g.overlay(
                banks,
                Part::Canopy(spectra::Canopy {
                    lai: 4.0,
                    cab: 45.0,
                    cw: 0.02,
                    brown: self.season.forest(Forest::Deciduous, 1.0).brown,
                    soil_moisture: 0.4,
                }),
            );
        }
        let mut water = 1.0 - smoothstep(half - EDGE_M, half + EDGE_M, rd);
        // lakes where the water field is high and the ground low: the shore is where their
        // sum crosses the threshold, a sharp edge wherever it lies
        let high = smoothstep(0.15, 0.35, (h - self.base_altitude) / self.relief.max(1.0));
        let metres = |w: f64| (w - 0.62 - 0.5 * high) * self.water.scale / 1.3;
        if metres(near.lake) > -EDGE_M - NEAR_SLACK {
            water = water.max(smoothstep(-EDGE_M, EDGE_M, metres(self.water.at(x, y))));
        }
        if let Some(((cx, cy), r)) = self.lake {
            water = water.max(1.0 - smoothstep(r - EDGE_M, r + EDGE_M, (e - cx).hypot(n - cy)));
        }
        if water > 0.0 {
            let turbidity = 0.2 + 0.6 * self.moisture.at(y, x);
            g.overlay(water, Part::Water(turbidity));
            g.water = water;
            g.forest *= 1.0 - water;
        }
    }
}

/// Side of the squares of the map over which [`Near`] bounds the fields that place forests,
/// roads, the river and lakes, metres.
const NEAR_M: f64 = 40.0;
/// Margin of those bounds' tests, metres (far above rounding).
const NEAR_SLACK: f64 = 1e-6;

/// What may reach a square of [`NEAR_M`]: the largest values of the forest and lake fields
/// there, and whether a road or the river (with its banks) can. Where a feature cannot, its
/// fields are not drawn: the ground is the same, only cheaper (most of the map is far from
/// roads, rivers, lakes and forest edges).
#[derive(Debug, Clone, Copy)]
struct Near {
    forest: f64,
    lake: f64,
    roads: [bool; 2],
    river: bool,
}

impl Landscape {
    fn near(&self, x: f64, y: f64) -> Near {
        let (i, j) = (floor(x / NEAR_M), floor(y / NEAR_M));
        memo(&NEARS, (self.seed, i, j), || {
            let (cx, cy) = ((i as f64 + 0.5) * NEAR_M, (j as f64 + 0.5) * NEAR_M);
            let r = NEAR_M * std::f64::consts::FRAC_1_SQRT_2;
            // the least distance, in metres, from the square to a contour line at 0.5
            let off = |f: &Field| {
                let (lo, hi) = f.bounds(cx, cy, r);
                (lo - 0.5).max(0.5 - hi).max(0.0) * f.scale / 1.2
            };
            Near {
                forest: self.forest.bounds(cx, cy, r).1,
                lake: self.water.bounds(cx, cy, r).1,
                roads: self.roads.map(|f| off(&f) < 3.0 + EDGE_M + NEAR_SLACK),
                river: off(&self.river) < 30.0 + EDGE_M + NEAR_SLACK,
            }
        })
    }
}

/// One ingredient of a ground point's spectrum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Part {
    Canopy(spectra::Canopy),
    Soil(Soil, f64),
    Material(Material),
    Water(f64),
    Snow(f64),
}

impl Part {
    fn spectrum(&self) -> [f64; NB] {
        let lib = spectra::library();
        match *self {
            Part::Canopy(c) => lib.canopy(&c),
            Part::Soil(s, moisture) => lib.soil(s, moisture),
            Part::Material(m) => lib.material(m),
            Part::Water(t) => lib.water(t),
            Part::Snow(age) => lib.snow(age),
        }
    }

    fn band(&self, b: usize) -> f64 {
        let lib = spectra::library();
        match *self {
            Part::Canopy(c) => lib.canopy_band(&c, b),
            Part::Soil(s, moisture) => lib.soil(s, moisture)[b],
            Part::Material(m) => lib.material(m)[b],
            Part::Water(t) => lib.water(t)[b],
            Part::Snow(age) => lib.snow(age)[b],
        }
    }
}

const MAX_PARTS: usize = 6;

/// What covers one ground point: a linear mixture of at most six parts (a pixel on the edge of
/// a field, a road, a shore), and the water, snow and forest fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ground {
    parts: [(f64, Part); MAX_PARTS],
    len: usize,
    /// Open-water fraction.
    pub water: f64,
    /// Snow-covered fraction.
    pub snow: f64,
    /// Forest fraction.
    pub forest: f64,
}

impl Ground {
    fn of(part: Part) -> Ground {
        Ground {
            parts: [(1.0, part); MAX_PARTS],
            len: 1,
            water: 0.0,
            snow: 0.0,
            forest: 0.0,
        }
    }

    /// Lays `part` over a fraction `w` of the point.
    fn overlay(&mut self, w: f64, part: Part) {
        if w <= 0.0 {
            return;
        }
        if w >= 1.0 {
            self.parts[0] = (1.0, part);
            self.len = 1;
            return;
        }
        for p in &mut self.parts[..self.len] {
            p.0 *= 1.0 - w;
        }
        if self.len == MAX_PARTS {
            // the smallest part makes room
            let k = (0..self.len)
                .min_by(|&a, &b| self.parts[a].0.total_cmp(&self.parts[b].0))
                .unwrap_or(0);
            let lost = self.parts[k].0;
            self.parts[k] = self.parts[self.len - 1];
            self.len -= 1;
            self.parts[0].0 += lost;
        }
        self.parts[self.len] = (w, part);
        self.len += 1;
    }

    /// Lays a fraction `w` of `other` over this point.
    fn blend(&mut self, w: f64, other: &Ground) {
        if w >= 1.0 {
            *self = *other;
            return;
        }
        for &(v, p) in &other.parts[..other.len] {
            if v > 1e-3 {
                self.overlay(w * v, p);
            }
        }
    }

    /// Reflectance in band `b` (0-based).
    pub fn band(&self, b: usize) -> f64 {
        self.parts[..self.len]
            .iter()
            .map(|(w, p)| w * p.band(b))
            .sum()
    }

    /// Reflectance in the 12 bands (each part's spectrum looked up once).
    pub fn spectrum(&self) -> [f64; NB] {
        let parts = &self.parts[..self.len];
        let spectra: [[f64; NB]; MAX_PARTS] =
            std::array::from_fn(|k| parts.get(k).map_or([0.0; NB], |(_, p)| p.spectrum()));
        std::array::from_fn(|b| parts.iter().zip(&spectra).map(|((w, _), r)| w * r[b]).sum())
    }
}

/// The two nearest parcel centres of a jittered grid, and the distance to their border.
struct Voronoi {
    nearest: (i64, i64),
    second: (i64, i64),
    /// Distance from the point to the bisector of the two centres, metres.
    edge_distance: f64,
}

impl Voronoi {
    fn at(seed: u64, cell: f64, x: f64, y: f64) -> Voronoi {
        let (ci, cj) = (floor(x / cell), floor(y / cell));
        // the centres of the 3 × 3 cells around (ci, cj)
        let centres = memo(&CENTRES, (seed, cell.to_bits(), ci, cj), || {
            std::array::from_fn(|k| {
                let (i, j) = (ci - 1 + k as i64 / 3, cj - 1 + k as i64 % 3);
                let h = hash(seed, i, j, 1);
                (
                    (i as f64 + 0.1 + 0.8 * unit(h)) * cell,
                    (j as f64 + 0.1 + 0.8 * unit(mix(h))) * cell,
                )
            })
        });
        let mut best = [(f64::MAX, (0, 0), (0.0, 0.0)); 2];
        for i in ci - 1..=ci + 1 {
            for j in cj - 1..=cj + 1 {
                let c = centres[((i - ci + 1) * 3 + j - cj + 1) as usize];
                let d2 = (x - c.0).powi(2) + (y - c.1).powi(2);
                if d2 < best[0].0 {
                    best[1] = best[0];
                    best[0] = (d2, (i, j), c);
                } else if d2 < best[1].0 {
                    best[1] = (d2, (i, j), c);
                }
            }
        }
        let (a, b) = (best[0].2, best[1].2);
        let span = (a.0 - b.0).hypot(a.1 - b.1).max(1e-9);
        Voronoi {
            nearest: best[0].1,
            second: best[1].1,
            edge_distance: (best[1].0 - best[0].0) / (2.0 * span),
        }
    }
}

/// A per-thread memo of the last [`MEMO`] results of a pure function of `key`: successive
/// samples mostly fall in the same cells and parcels. It only saves work: the values, hence
/// the bytes, are those computed afresh.
fn memo<K: PartialEq + Copy, V: Copy>(
    cache: &'static std::thread::LocalKey<Memo<K, V>>,
    key: K,
    f: impl FnOnce() -> V,
) -> V {
    cache.with(|c| {
        let mut c = c.borrow_mut();
        if let Some((_, v)) = c.iter().find(|e| e.0 == key) {
            return *v;
        }
        let v = f();
        if c.len() == MEMO {
            c.remove(0);
        }
        c.push((key, v));
        v
    })
}

const MEMO: usize = 4;

/// A thread's memo: the last results, the oldest first.
type Memo<K, V> = std::cell::RefCell<Vec<(K, V)>>;

type CentreKey = (u64, u64, i64, i64);
type ParcelKey = (u64, i64, i64);
type NearKey = (u64, i64, i64);

thread_local! {
    static CENTRES: Memo<CentreKey, [(f64, f64); 9]> = const { Memo::new(Vec::new()) };
    static PARCELS: Memo<ParcelKey, Parcel> = const { Memo::new(Vec::new()) };
    static NEARS: Memo<NearKey, Near> = const { Memo::new(Vec::new()) };
}

/// One agricultural parcel's draws.
#[derive(Debug, Clone, Copy)]
struct Parcel {
    crop: Crop,
    shift: f64,
    vigour: f64,
    cab: f64,
    cw: f64,
    soil: Soil,
    /// Direction of work (its sine and cosine): of the orchard rows, the tramlines, the
    /// tillage passes.
    direction: (f64, f64),
    /// Orchard rows: period (m).
    rows: f64,
    /// Tramlines of the sprayer (crops) or passes of the harrow (bare soil): period (m).
    tramlines: f64,
}

impl Parcel {
    fn of(seed: u64, (i, j): (i64, i64)) -> Parcel {
        memo(&PARCELS, (seed, i, j), || Parcel::draw(seed, (i, j)))
    }

    fn draw(seed: u64, (i, j): (i64, i64)) -> Parcel {
        let h = hash(seed ^ 0x9a4ce1, i, j, 2);
        let u = |k: u64| unit(mix(h ^ k));
        Parcel {
            crop: Crop::from_unit(u(1)),
            shift: 24.0 * (u(2) - 0.5),
            vigour: 0.75 + 0.35 * u(3),
            cab: 25.0 + 40.0 * u(4),
            cw: 0.008 + 0.017 * u(5),
            soil: Soil::ALL[((u(6) * Soil::ALL.len() as f64) as usize).min(Soil::ALL.len() - 1)],
            direction: (std::f64::consts::PI * u(7)).sin_cos(),
            rows: 12.0 + 8.0 * u(8),
            tramlines: [12.0, 18.0, 24.0, 28.0][((u(9) * 4.0) as usize).min(3)],
        }
    }

    /// The parcel's surface at (x, y), `inside` metres from its border (negative outside):
    /// its crop's canopy, or its bare soil.
    fn surface(&self, land: &Landscape, x: f64, y: f64, moisture: f64, inside: f64) -> Part {
        let (s, co) = self.direction;
        let along = (x * co + y * s) * std::f64::consts::TAU;
        // the soil's surface moisture varies within the field (drainage, micro-relief: ±0.07
        // of the wet range over 10–60 m) and along the passes of the harrow (±0.02)
        let local = moisture + 0.14 * (land.patches.at(x, y) - 0.5);
        let wet = |stripes: f64| (local + stripes * (along / self.tramlines).cos()).clamp(0.0, 1.0);
        let Some(c) = land.season.crop(self.crop, self.shift, self.vigour) else {
            return Part::Soil(self.soil, wet(0.02));
        };
        // leaf area varies within the field (±20 % over 5–80 m), is lower on the headlands
        // (the outer 15 m, where the machines turn) and along the tramlines (their 0.5 m
        // tracks, as the MTF leaves them: −6 %); orchards in rows (contrast as the MTF
        // leaves it)
        let mut lai = c.lai * (0.8 + 0.4 * land.within.at(x, y));
        lai *= 0.85 + 0.15 * smoothstep(0.0, 15.0, inside);
        if self.crop == Crop::Orchard {
            lai *= 1.0 + 0.5 * (along / self.rows).cos();
        } else {
            lai *= 0.97 + 0.03 * (along / self.tramlines).cos();
        }
        Part::Canopy(spectra::Canopy {
            lai,
            cab: self.cab,
            cw: self.cw,
            brown: c.brown,
            soil_moisture: local.clamp(0.0, 1.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relief_spans_most_of_the_requested_range_on_a_small_site() {
        let o = (650_000.0, 4_900_000.0);
        let l = Landscape::new(1, o, 2560.0, 800.0);
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for i in 0..128 {
            for j in 0..128 {
                let h = l.altitude(o.0 + 20.0 * i as f64, o.1 - 20.0 * j as f64);
                lo = lo.min(h);
                hi = hi.max(h);
            }
        }
        assert!(hi - lo >= 500.0, "relief {lo}..{hi}");
    }

    /// Counts the covers of a 20 km site, sampled every 40 m: in June most of it is green;
    /// in April the maize and sunflower parcels are bare (ploughed or sown), so bright soils
    /// show beside the roofs.
    #[test]
    fn reflectances_are_physical_and_cover_many_classes() {
        let o = (650_000.0, 4_900_000.0);
        let count = |date: NaiveDate| {
            let l = Landscape::new(1, o, 20_000.0, 800.0).on(date, 44.0);
            let (mut veg, mut water, mut bright, mut n) = (0, 0, 0, 0);
            for i in 0..500 {
                for j in 0..500 {
                    let (e, n_) = (o.0 + 40.0 * i as f64, o.1 - 40.0 * j as f64);
                    let r = l.reflectance(e, n_, l.altitude(e, n_));
                    assert!(r.iter().all(|v| (0.0..=1.0).contains(v)), "{r:?}");
                    veg += usize::from(r[10] > 2.5 * r[6]);
                    water += usize::from(r[10] < 0.05);
                    bright += usize::from(r[6] > 0.15);
                    n += 1;
                }
            }
            let f = |k: usize| k as f64 / n as f64;
            eprintln!(
                "{date}: vegetation {:.3} water {:.3} bright {:.3}",
                f(veg),
                f(water),
                f(bright)
            );
            (f(veg), f(water), f(bright))
        };
        let (veg, water, bright) = count(NaiveDate::from_ymd_opt(2024, 6, 15).unwrap());
        assert!(veg > 0.5, "vegetation in June {veg}");
        assert!(water > 0.005, "water {water}");
        assert!(bright < 0.1, "bright surfaces in June {bright}");
        let (veg, _, bright) = count(NaiveDate::from_ymd_opt(2024, 4, 10).unwrap());
        assert!(veg > 0.3, "vegetation in April {veg}");
        assert!(bright > 0.03, "bright soils and roofs in April {bright}");
    }

    /// Within a parcel the spectrum varies at the metre scale (leaf area, soil moisture) on
    /// canopies and bare soils alike, and the edge between two parcels is crossed in about 10 m.
    #[test]
    fn parcels_have_inner_variation_and_sharp_edges() {
        let l = Landscape::new(3, (0.0, 0.0), 10_000.0, 100.0)
            .on(NaiveDate::from_ymd_opt(2024, 5, 20).unwrap(), 44.0);
        let mut widest: f64 = 0.0;
        let (mut steps, mut land) = (0, 0);
        // along a line off the lattices of the random fields (where their gradients vanish)
        let x = 333.3;
        for k in 0..2000 {
            let y = 10.0 * k as f64;
            if l.ground(x, y, 150.0).water > 0.0 {
                // open water is smooth
                continue;
            }
            land += 1;
            let (a, b) = (l.reflectance(x, y, 150.0), l.reflectance(x + 1.0, y, 150.0));
            // a 1 m step changes the NIR by at most contrast × 1 m / 8 m across an edge
            let jump = (a[10] - b[10]).abs();
            widest = widest.max(jump);
            steps += usize::from(jump > 1e-4);
        }
        eprintln!("{steps} of {land} places on land vary at the metre scale");
        assert!(widest < 0.2, "a 1 m step jumped {widest}");
        assert!(land > 1000, "only {land} of 2000 places on land");
        // a directional derivative of smooth fields nears zero in a share of places
        assert!(
            steps as f64 > 0.8 * land as f64,
            "only {steps} of {land} places on land vary at the metre scale"
        );
    }
}
