//! The `ttrack` binary: everything is in the library.

#[cfg(debug_assertions)]
#[global_allocator]
static ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

fn main() {
    std::process::exit(ttrack::cli::main());
}
