//! The binaries are linked through link/cc, which reads link/hot-functions.txt: relink them when
//! either changes (cargo does not see files the linker reads).
fn main() {
    println!("cargo:rerun-if-changed=link/hot-functions.txt");
    println!("cargo:rerun-if-changed=link/cc");
}
