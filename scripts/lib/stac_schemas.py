"""Lays out the official STAC JSON schemas that the tests validate vip-pack's STAC against,
taken unmodified from PyPI wheels that ship them, and writes a stac-validator schema config
(remote URL -> local file) so that nothing is fetched from the schema sites.

Usage: python stac_schemas.py WHEEL_DIR OUT_DIR

Sources (see scripts/lib/deps.sh, which downloads the wheels with pip):
  pystac 1.10.1  pystac/validation/jsonschemas/: STAC 1.0.0 core (item, catalog, collection and
                 what they include) and the GeoJSON Feature/Geometry schemas they reference;
  eopf 2.8.1     eopf/product/stac_extensions/extensions/: eo, projection and raster 1.1.0.
No registry package ships the file extension schema (v2.1.0); the tests check its fields
(file:checksum, file:size) against the files themselves instead.
"""

import glob
import json
import os
import sys
import zipfile

SOURCES = {
    "pystac-1.10.1-": ["pystac/validation/jsonschemas/"],
    "eopf-2.8.1-": [
        "eopf/product/stac_extensions/extensions/eo_v1.1.0.json",
        "eopf/product/stac_extensions/extensions/projection_v1.1.0.json",
        "eopf/product/stac_extensions/extensions/raster_v1.1.0.json",
    ],
}


def main(wheels, out):
    os.makedirs(out, exist_ok=True)
    mapping = {}
    for prefix, members in SOURCES.items():
        found = glob.glob(os.path.join(wheels, prefix + "*.whl"))
        if not found:
            sys.exit(f"no {prefix}*.whl in {wheels}")
        with zipfile.ZipFile(found[0]) as z:
            for name in z.namelist():
                if not name.endswith(".json"):
                    continue
                if not any(name == m or (m.endswith("/") and name.startswith(m)) for m in members):
                    continue
                data = z.read(name)
                schema_id = json.loads(data).get("$id", "").rstrip("#")
                if not schema_id.startswith("https://"):
                    sys.exit(f"{found[0]}: {name} has no https $id")
                local = os.path.join(out, schema_id[len("https://"):])
                os.makedirs(os.path.dirname(local), exist_ok=True)
                with open(local, "wb") as f:
                    f.write(data)
                mapping[schema_id] = os.path.abspath(local)
                mapping[schema_id + "#"] = os.path.abspath(local)
    for want in ("item-spec/json-schema/item.json", "eo/v1.1.0", "raster/v1.1.0", "projection/v1.1.0"):
        if not any(want in k for k in mapping):
            sys.exit(f"no schema for {want} in the wheels")
    with open(os.path.join(out, "schema-config.json"), "w") as f:
        json.dump({"schemas": mapping}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
