#[test]
fn common_cli_conventions() {
    vip_testkit::check_common_cli(env!("CARGO_BIN_EXE_vip-pack"), "vip-pack");
}

#[test]
fn no_product_is_a_usage_error() {
    vip_testkit::run(env!("CARGO_BIN_EXE_vip-pack"), &["--zip"]).code(2);
    vip_testkit::run(env!("CARGO_BIN_EXE_vip-pack"), &["verify"]).code(2);
}
