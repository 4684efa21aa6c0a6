#[test]
fn common_cli_conventions() {
    vip_testkit::check_common_cli(env!("CARGO_BIN_EXE_vip-maccs"), "vip-maccs");
}

#[test]
fn l3_needs_a_date_and_names_a_missing_input() {
    let bin = env!("CARGO_BIN_EXE_vip-maccs");
    vip_testkit::run(bin, &["l3", "some.HDR", "--gipp", "G"]).code(2);
    vip_testkit::run(
        bin,
        &["l3", "some.HDR", "--gipp", "G", "--date", "2024-02-30"],
    )
    .code(2);
    vip_testkit::run(
        bin,
        &["l3", "some.HDR", "--gipp", "G", "--date", "2024-02-29"],
    )
    .code(3)
    .one_error_line("some.HDR");
}
