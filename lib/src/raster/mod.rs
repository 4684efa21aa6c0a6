//! GDAL raster I/O: strips sized by --ram, typed reads and writes, GeoTIFF/COG creation,
//! atomic output.
