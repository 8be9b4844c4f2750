//! Config: the corpora of good and bad configs (`tests/configs/`), `config::load` on real
//! files, mangled input, and the supervisord command line.

#[path = "../support"]
mod support {
    pub mod temp;
}

mod bad_corpus;
mod command_line;
mod good_corpus;
mod loading;
mod mangled_input;
