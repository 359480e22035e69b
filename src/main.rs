fn main() {
    std::process::exit(vigil::cli::main(std::env::args_os().collect()));
}
