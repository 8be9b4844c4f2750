fn main() {
    let mut args = std::env::args_os();
    let argv0 = args
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args: Vec<_> = args.collect();
    supervisor_rs::init::malloc::start_without_thread_caches(&argv0, &args);
    std::process::exit(supervisor_rs::init::supervisord_main(&argv0, args));
}
