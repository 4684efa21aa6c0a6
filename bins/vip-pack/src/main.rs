//! vip-pack: distribution packages (MUSCATE layout, quicklook, checksums, COG, zip).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vip::cli::{CommonArgs, CreationArgs, OutputArgs, Tool};

/// Package VENµS products for distribution in the Theia/MUSCATE layout.
///
/// Writes <ID>/ (or <ID>.zip with --zip) in the output directory, where <ID> is
/// VENUS-XS_<yyyymmdd-hhmmss-mmm>_<LEVEL>_<SITE>_C_V1-0, from a native L1C, L2A or L3A:
/// <ID>_MTD_ALL.xml (MUSCATE metadata), one GeoTIFF per band (int16, reflectance x 1000,
/// nodata -10000: <ID>_SRE_B1.tif ... B12 for an L1C's TOA reflectance; <ID>_SRE_Bn.tif and
/// <ID>_FRE_Bn.tif for an L2A's surface and flat reflectance, with <ID>_ATB_XS.tif, byte,
/// band 1 water vapour x 20, band 2 AOT x 200, nodata 0), MASKS/<ID>_SAT_XS.tif (uint16,
/// bit n = band Bn saturated), MASKS/<ID>_PIX_XS.tif (uint16, bit n = band Bn aberrant or
/// defective), MASKS/<ID>_EDG_XS.tif (byte, 1 = no data), MASKS/<ID>_CLM_XS.tif (byte: L1C
/// bit 1 = cloud; L2A the 8 MUSCATE cloud bits), for an L2A MASKS/<ID>_MG2_XS.tif (bits 1
/// water, 2 cloud, 3 snow, 4 cloud shadow, 5 topographic shadow, 6 hidden surface, 7 sun too
/// low, 8 tangent sun) and MASKS/<ID>_IAB_XS.tif (bit 1 water vapour, bit 2 AOT
/// interpolated), the quicklook <ID>_QKL_ALL.jpg (B7, B4, B3), with --stac the STAC 1.0.0
/// item <ID>_STAC.json, and MANIFEST.sha256 (sha256sum format) listing every other file.
/// An L3A (the date in <ID> is the synthesis date, 00:00:00) is packaged as CNES WASP
/// packages it: <ID>_FRC_B1.tif ... B12 (the weighted-average flat reflectance, int16 x 1000,
/// nodata -10000), MASKS/<ID>_WGT_XS.tif (int16, weight sum x 1000), MASKS/<ID>_DTS_XS.tif
/// (int16, weighted-average date as the day of the synthesis date's year, 0 on 1 January;
/// both nodata -10000), MASKS/<ID>_FLG_XS.tif (byte, 0 no data, 1 cloud, 2 snow, 3 water,
/// 4 land, 5 cloud shadow, 6 saturated), the quicklook and the metadata.
/// Another product is bad input (exit 3).
#[derive(Parser)]
#[command(
    name = "vip-pack",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "EXAMPLES:\n  vip-pack OUT/VE_TEST_VSC_L1VALD_SIMULSIT_20240315.HDR -o DIST\n  vip-pack L1C.HDR -o DIST --cog --zip\n  vip-pack L2A/VE_TEST_VSC_L2VALD_SIMULSIT_20240315.HDR -o DIST --stac\n  vip-pack L3A/VE_TEST_VSC_L3VALD_SIMULSIT_20240317.HDR -o DIST --zip\n  vip-pack L1C.HDR -o DIST --cog --stac && vip-pack index DIST\n  vip-l1 L1A.HDR --gipp G --dem DEM.tif -o OUT | vip-pack - -o DIST\n  vip-pack verify DIST/VENUS-XS_20240315-103000-000_L1C_SIMULSIT_C_V1-0.zip"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Native products (their .HDR), or - to read one path per line from stdin
    #[arg(required = true, value_name = "PRODUCT")]
    inputs: Vec<PathBuf>,
    /// Write each package as a deterministic <ID>.zip (same input, same bytes) instead of a
    /// folder; rasters are stored, text deflated
    #[arg(long)]
    zip: bool,
    /// Write every raster as a Cloud Optimized GeoTIFF (DEFLATE, overviews)
    #[arg(long)]
    cog: bool,
    /// Also write the STAC 1.0.0 item <ID>_STAC.json beside <ID>_MTD_ALL.xml (extensions eo,
    /// projection, raster, file): one asset per band, mask, quicklook and metadata file, with
    /// relative hrefs, SHA2-256 multihash checksums and sizes; footprint in WGS 84
    #[arg(long)]
    stac: bool,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    co: CreationArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Check packages (folders or zips) against their MANIFEST.sha256.
    ///
    /// Exit 1 when a file is missing, extra or differs from its checksum (each is named);
    /// exit 3 when the package cannot be read or a zip entry would land outside the package
    /// folder (absolute path or ..).
    #[command(
        after_help = "EXAMPLES:\n  vip-pack verify DIST/VENUS-XS_20240315-103000-000_L1C_SIMULSIT_C_V1-0\n  vip-pack verify DIST/*.zip"
    )]
    Verify {
        /// Package folders or zips
        #[arg(required = true, value_name = "PACKAGE")]
        packages: Vec<PathBuf>,
    },
    /// Make a folder of packages a static STAC catalog and browse page (for any plain HTTP
    /// server).
    ///
    /// Writes DIR/catalog.json (STAC Catalog), DIR/collection.json (STAC Collection: spatial
    /// and temporal extents, summaries, one item link per package folder to
    /// ./<ID>/<ID>_STAC.json) and DIR/index.html (a static page without script: the packages
    /// by site then acquisition time, each with its quicklook, level, and cloud and snow
    /// percentages as its MTD_ALL.xml records them, n/a where it does not, and links to its
    /// folder, to <ID>.zip when one lies beside it, and to its item); all hrefs are relative.
    /// Run it again after adding or removing packages: the collection and the page follow the
    /// folders; items are never rewritten, and a file whose content is unchanged is not
    /// rewritten either. Each file is replaced atomically. Package folders need their STAC
    /// item (vip-pack --stac); hidden entries and zips are not indexed. Exit 3, writing
    /// nothing, when a package folder has no readable item, metadata or quicklook, an asset
    /// is missing or outside its folder, or a symbolic link leads out of DIR. Prints the path
    /// of catalog.json.
    #[command(
        after_help = "EXAMPLES:\n  vip-pack index DIST\n  vip-pack L1C.HDR -o DIST --stac && vip-pack index DIST && (cd DIST && python3 -m http.server)"
    )]
    Index {
        /// Folder holding the package folders; the index and index.html are written into it
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Licence of the data in the collection (SPDX id, or proprietary / various)
        #[arg(long, default_value = "proprietary", value_name = "ID")]
        license: String,
    },
}

impl Tool for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn main() {
    vip::cli::run("vip-pack", |args: Args| match args.command {
        Some(Command::Verify { packages }) => packages
            .iter()
            .map(|p| vip::pack::manifest::verify(p))
            .collect(),
        Some(Command::Index { dir, license }) => {
            vip::pack::index::index(&dir, &vip::pack::index::IndexOptions { license })
                .map(|p| vec![p])
        }
        None => {
            let inputs = vip::cli::input_paths(&args.inputs)?;
            let pack = vip::pack::PackOptions {
                zip: args.zip,
                cog: args.cog,
                stac: args.stac,
            };
            vip::pack::run(
                &inputs,
                &pack,
                &args.common.options().writing(&args.out).creating(&args.co),
            )
        }
    })
}
