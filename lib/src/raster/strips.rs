//! Strips of full-width rows sized from the memory budget (`--ram`).

/// Share of the memory budget that strip buffers may use, as a fraction `NUM / DEN`.
///
/// The rest is left to GDAL: the tools set `GDAL_CACHEMAX` to a quarter of the budget, and the
/// last quarter is headroom for the output encoder's tile rows and allocator slack.
pub const STRIP_SHARE: (u64, u64) = (1, 2);

/// Height of the tiles VIP writes; strips taller than this are a multiple of it.
pub const TILE_ROWS: usize = 256;

/// How many rows of `width` columns fit in the memory budget.
///
/// `bytes_per_row_per_col` is what one pixel column of one row costs across every buffer held
/// at once (e.g. 12 input bands of `u16` plus one `f32` output: `12 * 2 + 4`). Only
/// [`STRIP_SHARE`] of `ram_bytes` is used. The result is a multiple of [`TILE_ROWS`] when at
/// least that many rows fit, else a power of two (at least 1), so strips line up with the
/// 256 × 256 tiles: a tile row is never split unevenly (its tiles written in part by one strip
/// and finished, re-encoded, by the next).
/// Workers processing strips in parallel each get `ram_bytes / workers`.
pub fn strip_rows(ram_bytes: u64, width: usize, bytes_per_row_per_col: usize) -> usize {
    let budget = ram_bytes / STRIP_SHARE.1 * STRIP_SHARE.0;
    let row_bytes = (width as u64)
        .saturating_mul(bytes_per_row_per_col as u64)
        .max(1);
    let rows = usize::try_from(budget / row_bytes).unwrap_or(usize::MAX);
    if rows >= TILE_ROWS {
        rows - rows % TILE_ROWS
    } else {
        1 << rows.max(1).ilog2()
    }
}

/// The budget left for strips when `held` bytes are kept for the whole scene (masks, cell
/// grids) beside them: those bytes come out of the strips' share, so that the peak stays
/// within `ram_bytes` whatever the scene's length. Never below an eighth of the budget.
pub fn budget_beside(ram_bytes: u64, held: u64) -> u64 {
    let held_in_budget = held.saturating_mul(STRIP_SHARE.1) / STRIP_SHARE.0;
    ram_bytes.saturating_sub(held_in_budget).max(ram_bytes / 8)
}

/// A band of full-width rows: `rows` rows starting at `row`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First row (0-based).
    pub row: usize,
    /// Number of rows.
    pub rows: usize,
}

impl Window {
    /// One past the last row.
    pub fn end(&self) -> usize {
        self.row + self.rows
    }
}

/// Iterator over the [`Window`]s of `step` rows that cover rows `0..height` once each, in order;
/// the last one may be shorter.
#[derive(Debug, Clone)]
pub struct Strips {
    height: usize,
    step: usize,
    next: usize,
}

impl Strips {
    /// Strips of `step` rows (at least 1) over `height` rows.
    pub fn new(height: usize, step: usize) -> Self {
        Strips {
            height,
            step: step.max(1),
            next: 0,
        }
    }

    /// Strips over `height` rows of `width` columns, sized by [`strip_rows`].
    pub fn for_budget(
        height: usize,
        width: usize,
        ram_bytes: u64,
        bytes_per_row_per_col: usize,
    ) -> Self {
        Strips::new(height, strip_rows(ram_bytes, width, bytes_per_row_per_col))
    }

    /// Rows per strip (the last strip may have fewer).
    pub fn step(&self) -> usize {
        self.step
    }
}

impl Iterator for Strips {
    type Item = Window;

    fn next(&mut self) -> Option<Window> {
        if self.next >= self.height {
            return None;
        }
        let row = self.next;
        let rows = self.step.min(self.height - row);
        self.next += rows;
        Some(Window { row, rows })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.height.saturating_sub(self.next).div_ceil(self.step);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Strips {}

/// Lowers GDAL's block cache to at most `bytes` (never raises it). For a job that reads each
/// block once, strip after strip, a large cache only holds blocks that will not be read again:
/// GDAL fills it to its limit (and past it by its bookkeeping) for nothing.
pub fn cap_block_cache(bytes: u64) {
    let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
    // SAFETY: plain calls on GDAL's global cache setting, valid at any time
    unsafe {
        if gdal_sys::GDALGetCacheMax64() > bytes {
            gdal_sys::GDALSetCacheMax64(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_bytes_come_out_of_the_strips_share() {
        let mb = 1 << 20;
        let rows = |ram| strip_rows(ram, 1000, 100);
        assert_eq!(budget_beside(1024 * mb, 0), 1024 * mb);
        // 100 MB held: the strips lose 100 MB of their 512
        assert_eq!(budget_beside(1024 * mb, 100 * mb), 824 * mb);
        assert!(rows(budget_beside(1024 * mb, 100 * mb)) as u64 * 100_000 <= 412 * mb);
        // never below an eighth
        assert_eq!(budget_beside(1024 * mb, 4096 * mb), 128 * mb);
    }

    #[test]
    fn strips_cover_every_row_once() {
        for height in [0, 1, 5, 255, 256, 257, 1000, 5200] {
            for step in [0, 1, 7, 256, 512, 10_000] {
                let strips = Strips::new(height, step);
                let n = strips.len();
                let mut seen = vec![0u8; height];
                let mut count = 0;
                let mut next_row = 0;
                for w in strips {
                    assert_eq!(w.row, next_row, "strips are contiguous and in order");
                    assert!(w.rows >= 1 && w.rows <= step.max(1));
                    seen[w.row..w.end()].iter_mut().for_each(|c| *c += 1);
                    next_row = w.end();
                    count += 1;
                }
                assert_eq!(count, n, "len() agrees with iteration");
                assert!(seen.iter().all(|&c| c == 1), "h={height} s={step}");
            }
        }
    }

    #[test]
    fn strip_rows_respects_the_budget() {
        let mb = 1u64 << 20;
        for ram in [16 * mb, 100 * mb, 1024 * mb, 8192 * mb] {
            for (width, bpp) in [(5200, 12 * 2 + 4), (5200, 1), (100, 4), (60_000, 64)] {
                let rows = strip_rows(ram, width, bpp);
                assert!(rows >= 1);
                let used = (rows * width * bpp) as u64;
                let allowed = ram * STRIP_SHARE.0 / STRIP_SHARE.1;
                assert!(used <= allowed || rows == 1, "{rows} rows over budget");
                if rows >= TILE_ROWS {
                    assert_eq!(rows % TILE_ROWS, 0);
                    // Rounding down never throws away a whole tile row.
                    assert!(((rows + TILE_ROWS) * width * bpp) as u64 > allowed);
                }
            }
        }
    }

    #[test]
    fn strip_rows_edge_cases() {
        // A budget too small for one row still gives one row.
        assert_eq!(strip_rows(1000, 5200, 28), 1);
        // Below one tile row, a power of two that splits it evenly: 100 rows fit, 64 are taken.
        assert_eq!(strip_rows(2 * 100 * 10 * 100, 100, 10), 64);
        for fit in 1..TILE_ROWS {
            let rows = strip_rows(2 * (fit * 10 * 100) as u64, 100, 10);
            assert!(
                TILE_ROWS.is_multiple_of(rows) && rows <= fit && 2 * rows > fit,
                "{fit}: {rows}"
            );
        }
        // Zero width or cost does not divide by zero.
        assert!(strip_rows(1 << 20, 0, 4) >= 1);
        assert!(strip_rows(1 << 20, 100, 0) >= 1);
        // 1 GiB, 12 u16 bands + one f32 output, 5200 columns.
        assert_eq!(strip_rows(1 << 30, 5200, 28), 3584);
        let s = Strips::for_budget(5200, 5200, 1 << 30, 28);
        assert_eq!(s.step(), 3584);
        assert_eq!(s.len(), 2);
    }
}
