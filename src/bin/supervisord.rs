fn main() {
    let mut args = std::env::args_os();
    let argv0 = args
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::process::exit(supervisor_rs::init::supervisord_main(
        &argv0,
        args.collect(),
    ));
}
