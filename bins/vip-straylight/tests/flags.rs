//! vip-straylight writes rasters: it takes -o, --overwrite and --co.

#[test]
fn output_flags() {
    vip_testkit::check_output_flags(
        env!("CARGO_BIN_EXE_vip-straylight"),
        &[],
        &vip_testkit::OUTPUT_FLAGS,
    );
}
