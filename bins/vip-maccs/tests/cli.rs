#[test]
fn common_cli_conventions() {
    vip_testkit::check_common_cli(env!("CARGO_BIN_EXE_vip-maccs"), "vip-maccs");
}

#[test]
fn processing_is_refused_until_implemented() {
    vip_testkit::run(env!("CARGO_BIN_EXE_vip-maccs"), &["l3", "some.HDR"])
        .code(2)
        .one_error_line("not implemented");
}
