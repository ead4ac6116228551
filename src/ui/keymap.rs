//! Key chords and the keymap: the command table's defaults, overlaid by the user's
//! `$XDG_CONFIG_HOME/ttrack/keys.toml`. An unknown key or command in that file is an error naming
//! its line; the defaults stay for everything else.

use super::commands::{Action, COMMANDS, Scope, by_name};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

/// A key with modifiers, written `C-s` (Ctrl), `A-x` (Alt), `S-Up` (Shift), `F1`, `Space`, `z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyChord {
    /// The key.
    pub key: Key,
    /// Ctrl held.
    pub ctrl: bool,
    /// Alt held.
    pub alt: bool,
    /// Shift held (only for keys that are not characters: a shifted letter is its capital).
    pub shift: bool,
}

/// A key without modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// A function key.
    F(u8),
    /// A named key.
    Named(&'static str),
}

const NAMED: &[&str] = &[
    "Space",
    "Enter",
    "Esc",
    "Tab",
    "BackTab",
    "Backspace",
    "Insert",
    "Delete",
    "Home",
    "End",
    "PageUp",
    "PageDown",
    "Up",
    "Down",
    "Left",
    "Right",
];

impl KeyChord {
    /// Parses `C-s`, `A-Up`, `S-Tab`, `F12`, `Space`, `?`.
    pub fn parse(s: &str) -> Option<KeyChord> {
        let mut chord = KeyChord {
            key: Key::Char(' '),
            ctrl: false,
            alt: false,
            shift: false,
        };
        let mut rest = s;
        while rest.len() > 2 && rest.as_bytes()[1] == b'-' {
            match rest.as_bytes()[0] {
                b'C' => chord.ctrl = true,
                b'A' => chord.alt = true,
                b'S' => chord.shift = true,
                _ => return None,
            }
            rest = &rest[2..];
        }
        let mut chars = rest.chars();
        chord.key = match (chars.next(), chars.next()) {
            (Some(c), None) => Key::Char(c),
            _ => {
                if let Some(n) = rest.strip_prefix('F').and_then(|n| n.parse::<u8>().ok())
                    && (1..=24).contains(&n)
                {
                    Key::F(n)
                } else {
                    Key::Named(NAMED.iter().find(|&&k| k == rest)?)
                }
            }
        };
        if matches!(chord.key, Key::Char(_)) {
            chord.shift = false;
        }
        Some(chord)
    }

    /// The chord of a terminal key event, if it is one ttrack can bind.
    pub fn from_event(e: &KeyEvent) -> Option<KeyChord> {
        let m = e.modifiers;
        let key = match e.code {
            KeyCode::Char(' ') => Key::Named("Space"),
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::F(n) => Key::F(n),
            KeyCode::Enter => Key::Named("Enter"),
            KeyCode::Esc => Key::Named("Esc"),
            KeyCode::Tab => Key::Named("Tab"),
            KeyCode::BackTab => Key::Named("BackTab"),
            KeyCode::Backspace => Key::Named("Backspace"),
            KeyCode::Insert => Key::Named("Insert"),
            KeyCode::Delete => Key::Named("Delete"),
            KeyCode::Home => Key::Named("Home"),
            KeyCode::End => Key::Named("End"),
            KeyCode::PageUp => Key::Named("PageUp"),
            KeyCode::PageDown => Key::Named("PageDown"),
            KeyCode::Up => Key::Named("Up"),
            KeyCode::Down => Key::Named("Down"),
            KeyCode::Left => Key::Named("Left"),
            KeyCode::Right => Key::Named("Right"),
            _ => return None,
        };
        let is_char = matches!(key, Key::Char(_));
        Some(KeyChord {
            key,
            ctrl: m.contains(KeyModifiers::CONTROL),
            alt: m.contains(KeyModifiers::ALT),
            shift: m.contains(KeyModifiers::SHIFT) && !is_char && key != Key::Named("BackTab"),
        })
    }

    /// The character typed, when the chord is a plain character.
    pub fn plain_char(&self) -> Option<char> {
        match self.key {
            Key::Char(c) if !self.ctrl && !self.alt => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("C-")?;
        }
        if self.alt {
            f.write_str("A-")?;
        }
        if self.shift {
            f.write_str("S-")?;
        }
        match self.key {
            Key::Char(c) => write!(f, "{c}"),
            Key::F(n) => write!(f, "F{n}"),
            Key::Named(n) => f.write_str(n),
        }
    }
}

/// A problem in the user's keys.toml.
#[derive(Debug, Error, PartialEq)]
#[error("{file}, line {line}: {message}")]
pub struct KeymapError {
    /// The file.
    pub file: String,
    /// Line (from 1).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Key chords to actions, per scope.
#[derive(Clone, Debug)]
pub struct Keymap {
    map: BTreeMap<(Scope, KeyChord), Action>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap::defaults()
    }
}

impl Keymap {
    /// The command table's default bindings.
    pub fn defaults() -> Keymap {
        let mut map = BTreeMap::new();
        for c in COMMANDS {
            for k in c.keys {
                if let Some(chord) = KeyChord::parse(k) {
                    map.insert((c.scope, chord), c.action);
                }
            }
        }
        Keymap { map }
    }

    /// The action bound to `chord` in `scope` (falling back to the global scope).
    pub fn lookup(&self, scope: Scope, chord: &KeyChord) -> Option<Action> {
        self.map
            .get(&(scope, *chord))
            .or_else(|| self.map.get(&(Scope::Global, *chord)))
            .copied()
    }

    /// The keys bound to `action` in `scope`, for the help view and status hints.
    pub fn keys_for(&self, scope: Scope, action: Action) -> Vec<KeyChord> {
        self.map
            .iter()
            .filter(|((s, _), a)| *s == scope && **a == action)
            .map(|((_, k), _)| *k)
            .collect()
    }

    /// Overlays a keys.toml text: tables named after scopes (`[global]`, `[pattern]`, …) whose
    /// entries bind a key to a command name, or to `"none"` to unbind it. Returns every problem
    /// found; the bindings that were fine are applied.
    pub fn overlay(&mut self, text: &str, file: &str) -> Vec<KeymapError> {
        let mut errors = Vec::new();
        let err = |line: usize, message: String| KeymapError {
            file: file.to_string(),
            line,
            message,
        };
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                let line = e.span().map_or(1, |s| {
                    text[..s.start.min(text.len())].lines().count().max(1)
                });
                errors.push(err(line, e.message().to_string()));
                return errors;
            }
        };
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(needle))
                .map_or(1, |i| i + 1)
        };
        for (scope_name, entries) in &table {
            let Some(scope) = Scope::ALL.into_iter().find(|s| s.name() == scope_name) else {
                errors.push(err(
                    line_of(&format!("[{scope_name}")),
                    format!("unknown section [{scope_name}]; use global, pattern, arrangement, instruments or mixer"),
                ));
                continue;
            };
            let Some(entries) = entries.as_table() else {
                errors.push(err(
                    line_of(scope_name),
                    format!("`{scope_name}` must be a table of key = \"command\""),
                ));
                continue;
            };
            for (key, value) in entries {
                let line = line_of(&format!("\"{key}\"")).max(line_of(&format!("{key} ")));
                let Some(chord) = KeyChord::parse(key) else {
                    errors.push(err(
                        line,
                        format!("unknown key `{key}`; write e.g. C-s, A-x, S-Up, F1, Space, z"),
                    ));
                    continue;
                };
                let Some(name) = value.as_str() else {
                    errors.push(err(
                        line,
                        format!("the command for `{key}` must be a string"),
                    ));
                    continue;
                };
                if name == "none" {
                    self.map.remove(&(scope, chord));
                    continue;
                }
                match by_name(name) {
                    Some(c) => {
                        self.map.insert((scope, chord), c.action);
                    }
                    None => errors.push(err(
                        line,
                        format!("unknown command `{name}`; `ttrack keys` lists them"),
                    )),
                }
            }
        }
        errors
    }
}

/// The default keymap as a keys.toml text, as `ttrack keys` prints it.
pub fn defaults_toml() -> String {
    let mut out = String::from(
        "# ttrack keys: copy to $XDG_CONFIG_HOME/ttrack/keys.toml (~/.config/ttrack/keys.toml) and edit.\n\
         # Each entry binds a key to a command; \"none\" unbinds a default key.\n\
         # Keys: C- Ctrl, A- Alt, S- Shift; F1..F24, Space, Enter, Esc, Tab, BackTab, Backspace, Insert,\n\
         # Delete, Home, End, PageUp, PageDown, Up, Down, Left, Right, or one character.\n",
    );
    for scope in Scope::ALL {
        out.push_str(&format!("\n[{}]\n", scope.name()));
        for c in COMMANDS.iter().filter(|c| c.scope == scope) {
            for k in c.keys {
                out.push_str(&format!(
                    "{:<12} = {:<28} # {}\n",
                    format!("\"{k}\""),
                    format!("\"{}\"", c.name),
                    c.help
                ));
            }
        }
    }
    out
}

/// The default keys as Markdown, the text of `docs/keys.md` (a test keeps the file equal to it).
pub fn keys_markdown() -> String {
    let mut out = String::from(
        "# Keys\n\nGenerated from the command table (`src/ui/commands.rs`); `ttrack keys` prints the same \
         bindings as a keys.toml to edit. Put your own in `$XDG_CONFIG_HOME/ttrack/keys.toml` \
         (`~/.config/ttrack/keys.toml`): each entry binds a key to a command name, `\"none\"` unbinds a key. \
         Piano keys follow FastTracker II: the bottom letter row plays from C of the current octave \
         (`z s x d c v g b h n j m , l .`), the top row an octave up \
         (`q 2 w 3 e r 5 t 6 y 7 u i 9 o 0 p`). On the instrument, volume, delay and effect fields, \
         hex digits type values instead.\n",
    );
    for scope in Scope::ALL {
        out.push_str(&format!(
            "\n## {}\n\n| keys | command | what it does |\n|---|---|---|\n",
            scope.name()
        ));
        for c in COMMANDS.iter().filter(|c| c.scope == scope) {
            let keys: Vec<String> = c.keys.iter().map(|k| format!("`{k}`")).collect();
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                keys.join(" "),
                c.name,
                c.help
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_and_print() {
        for s in [
            "C-s", "A-x", "S-Up", "F1", "Space", "z", "?", "C-Right", "BackTab",
        ] {
            let c = KeyChord::parse(s).unwrap();
            assert_eq!(c.to_string(), s);
        }
        assert_eq!(KeyChord::parse("Hyper-x"), None);
        assert_eq!(KeyChord::parse("F99"), None);
    }

    #[test]
    fn every_default_key_parses_and_none_is_bound_twice_in_a_scope() {
        let mut seen = std::collections::BTreeSet::new();
        for c in COMMANDS {
            for k in c.keys {
                let chord = KeyChord::parse(k).unwrap_or_else(|| panic!("{}: bad key {k}", c.name));
                assert!(
                    seen.insert((c.scope, chord)),
                    "{k} bound twice in {:?}",
                    c.scope
                );
            }
        }
        let mut names = std::collections::BTreeSet::new();
        assert!(
            COMMANDS.iter().all(|c| names.insert(c.name)),
            "duplicate command name"
        );
    }

    #[test]
    fn overlay_rebinds_and_reports_lines() {
        let mut k = Keymap::defaults();
        let text = "[pattern]\n\"C-i\" = \"pattern.insert_row\"\n\"z\" = \"none\"\n\"C-k\" = \"no.such\"\n[bogus]\n";
        let errors = k.overlay(text, "keys.toml");
        let ins = KeyChord::parse("C-i").unwrap();
        assert_eq!(k.lookup(Scope::Pattern, &ins), Some(Action::InsertRow));
        assert_eq!(
            k.lookup(Scope::Pattern, &KeyChord::parse("z").unwrap()),
            None
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].line, 5, "{errors:?}");
        assert_eq!(errors[1].line, 4, "{errors:?}");
        assert!(errors[1].to_string().contains("no.such"));
    }

    #[test]
    fn docs_keys_md_is_generated_from_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keys.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        if on_disk != keys_markdown() {
            if std::env::var_os("TTRACK_UPDATE_DOCS").is_some() {
                std::fs::write(path, keys_markdown()).unwrap();
            } else {
                panic!("docs/keys.md is out of date: rerun with TTRACK_UPDATE_DOCS=1");
            }
        }
    }

    #[test]
    fn defaults_text_round_trips() {
        let mut k = Keymap {
            map: BTreeMap::new(),
        };
        assert!(k.overlay(&defaults_toml(), "defaults").is_empty());
        assert_eq!(k.map, Keymap::defaults().map);
    }
}
