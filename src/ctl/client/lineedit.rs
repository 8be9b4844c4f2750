//! A small line editor for the interactive shell on a terminal (what readline gives Python's
//! supervisorctl): cursor movement, history (Up/Down, kept in `history_file`), Ctrl-A/E/U/K/W,
//! and Tab completion of command names and process/group names.

use std::io::{self, Read, Write};

use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

/// What one call to [`Editor::read_line`] produced.
pub enum Input {
    Line(String),
    Eof,
}

pub struct Editor {
    pub history: Vec<String>,
}

/// Restores the terminal mode when dropped.
struct RawMode {
    saved: Termios,
}

/// The mode to restore if the program ends while a line is being edited (Ctrl-C).
static SAVED: std::sync::Mutex<Option<Termios>> = std::sync::Mutex::new(None);

/// Puts the terminal back in its normal mode (called before exiting on Ctrl-C).
pub fn restore_terminal() {
    let saved = match SAVED.lock() {
        Ok(mut g) => g.take(),
        Err(p) => p.into_inner().take(),
    };
    if let Some(t) = saved {
        let _ = termios::tcsetattr(io::stdin(), SetArg::TCSADRAIN, &t);
    }
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        // Keep ISIG: Ctrl-C still raises SIGINT, which ends the shell as in Supervisor.
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::IEXTEN);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(&stdin, SetArg::TCSADRAIN, &raw).ok()?;
        if let Ok(mut g) = SAVED.lock() {
            *g = Some(saved.clone());
        }
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Ok(mut g) = SAVED.lock() {
            *g = None;
        }
        let _ = termios::tcsetattr(io::stdin(), SetArg::TCSADRAIN, &self.saved);
    }
}

/// Whether both ends are terminals (otherwise the shell reads plain lines).
pub fn usable() -> bool {
    use std::io::IsTerminal;
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

fn read_byte() -> Option<u8> {
    let mut b = [0u8; 1];
    loop {
        match io::stdin().lock().read(&mut b) {
            Ok(1) => return Some(b[0]),
            Ok(_) => return None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
}

/// The longest common prefix of `words`.
fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut end = first.len();
    for w in &words[1..] {
        end = end.min(
            first
                .chars()
                .zip(w.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a.len_utf8())
                .sum(),
        );
    }
    first[..end].to_string()
}

impl Editor {
    pub fn new(history: Vec<String>) -> Editor {
        Editor { history }
    }

    /// Reads one line with editing; `complete(line_before_cursor)` lists candidates for the
    /// word under the cursor.
    pub fn read_line(
        &mut self,
        prompt: &str,
        complete: &mut dyn FnMut(&str) -> Vec<String>,
    ) -> Input {
        let Some(_raw) = RawMode::enter() else {
            return plain_read(prompt);
        };
        let mut out = io::stdout();
        let mut buf: Vec<char> = Vec::new();
        let mut pos = 0usize;
        let mut hist_index = self.history.len();
        let mut stash: Vec<char> = Vec::new();
        let redraw = |out: &mut io::Stdout, buf: &[char], pos: usize| {
            let text: String = buf.iter().collect();
            let back = buf.len() - pos;
            let mut s = format!("\r{prompt}{text}\x1b[K");
            if back > 0 {
                s.push_str(&format!("\x1b[{back}D"));
            }
            let _ = out.write_all(s.as_bytes());
            let _ = out.flush();
        };
        redraw(&mut out, &buf, pos);
        loop {
            let Some(b) = read_byte() else {
                let _ = out.write_all(b"\r\n");
                return Input::Eof;
            };
            match b {
                b'\r' | b'\n' => {
                    let _ = out.write_all(b"\r\n");
                    let _ = out.flush();
                    let line: String = buf.iter().collect();
                    if !line.trim().is_empty() && self.history.last() != Some(&line) {
                        self.history.push(line.clone());
                    }
                    return Input::Line(line);
                }
                4 if buf.is_empty() => {
                    // Ctrl-D on an empty line.
                    return Input::Eof;
                }
                4 => delete_at(&mut buf, pos),
                1 => pos = 0,
                5 => pos = buf.len(),
                2 => pos = pos.saturating_sub(1),
                6 => pos = (pos + 1).min(buf.len()),
                21 => {
                    buf.drain(..pos);
                    pos = 0;
                }
                11 => buf.truncate(pos),
                23 => {
                    let mut start = pos;
                    while start > 0 && buf[start - 1] == ' ' {
                        start -= 1;
                    }
                    while start > 0 && buf[start - 1] != ' ' {
                        start -= 1;
                    }
                    buf.drain(start..pos);
                    pos = start;
                }
                8 | 127 if pos > 0 => {
                    pos -= 1;
                    buf.remove(pos);
                }
                b'\t' => {
                    let before: String = buf[..pos].iter().collect();
                    let word_start = before.rfind(' ').map(|i| i + 1).unwrap_or(0);
                    let word = &before[word_start..];
                    let candidates: Vec<String> = complete(&before)
                        .into_iter()
                        .filter(|c| c.starts_with(word))
                        .collect();
                    let insert = match candidates.len() {
                        0 => String::new(),
                        1 => format!("{} ", &candidates[0][word.len()..]),
                        _ => {
                            let common = common_prefix(&candidates);
                            if common.len() > word.len() {
                                common[word.len()..].to_string()
                            } else {
                                let _ = out.write_all(
                                    format!("\r\n{}\r\n", candidates.join("  ")).as_bytes(),
                                );
                                String::new()
                            }
                        }
                    };
                    for c in insert.chars() {
                        buf.insert(pos, c);
                        pos += 1;
                    }
                }
                0x1b => match (read_byte(), read_byte()) {
                    (Some(b'[' | b'O'), Some(b'A')) if hist_index > 0 => {
                        if hist_index == self.history.len() {
                            stash = buf.clone();
                        }
                        hist_index -= 1;
                        buf = self.history[hist_index].chars().collect();
                        pos = buf.len();
                    }
                    (Some(b'[' | b'O'), Some(b'B')) if hist_index < self.history.len() => {
                        hist_index += 1;
                        buf = if hist_index == self.history.len() {
                            stash.clone()
                        } else {
                            self.history[hist_index].chars().collect()
                        };
                        pos = buf.len();
                    }
                    (Some(b'['), Some(b'C')) | (Some(b'O'), Some(b'C')) => {
                        pos = (pos + 1).min(buf.len())
                    }
                    (Some(b'['), Some(b'D')) | (Some(b'O'), Some(b'D')) => {
                        pos = pos.saturating_sub(1)
                    }
                    (Some(b'['), Some(b'H')) | (Some(b'O'), Some(b'H')) => pos = 0,
                    (Some(b'['), Some(b'F')) | (Some(b'O'), Some(b'F')) => pos = buf.len(),
                    (Some(b'['), Some(d)) if d.is_ascii_digit() && read_byte() == Some(b'~') => {
                        // ESC [ n ~ : Home (1, 7), Delete (3), End (4, 8).
                        match d {
                            b'1' | b'7' => pos = 0,
                            b'4' | b'8' => pos = buf.len(),
                            b'3' => delete_at(&mut buf, pos),
                            _ => {}
                        }
                    }
                    _ => {}
                },
                b if b >= 0x20 => {
                    // Collect the rest of a UTF-8 sequence before inserting.
                    let mut bytes = vec![b];
                    let extra = match b {
                        0xC0..=0xDF => 1,
                        0xE0..=0xEF => 2,
                        0xF0..=0xF7 => 3,
                        _ => 0,
                    };
                    for _ in 0..extra {
                        if let Some(n) = read_byte() {
                            bytes.push(n);
                        }
                    }
                    for c in String::from_utf8_lossy(&bytes).chars() {
                        buf.insert(pos, c);
                        pos += 1;
                    }
                }
                _ => {}
            }
            redraw(&mut out, &buf, pos);
        }
    }
}

fn delete_at(buf: &mut Vec<char>, pos: usize) {
    if pos < buf.len() {
        buf.remove(pos);
    }
}

/// Without a terminal: print the prompt, read a plain line.
fn plain_read(prompt: &str) -> Input {
    print!("{prompt}");
    let _ = io::stdout().flush();
    let mut line = String::new();
    match io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => Input::Eof,
        Ok(_) => Input::Line(line.trim_end_matches(['\r', '\n']).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&w(&["status", "stop", "start"])), "st");
        assert_eq!(common_prefix(&w(&["grp:a", "grp:b"])), "grp:");
        assert_eq!(common_prefix(&w(&[])), "");
    }
}
