#[test]
fn common_cli_conventions() {
    vip_testkit::check_common_cli(env!("CARGO_BIN_EXE_vip-straylight"), "vip-straylight");
}
