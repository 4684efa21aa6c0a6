//! vip-l1 writes rasters: it takes -o, --overwrite and --co.

#[test]
fn output_flags() {
    vip_testkit::check_output_flags(
        env!("CARGO_BIN_EXE_vip-l1"),
        &[],
        &vip_testkit::OUTPUT_FLAGS,
    );
}
