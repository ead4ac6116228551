//! The one source of size limits: loaders check against them, the engine preallocates from them and
//! the UI bounds its edits by them.

/// Most tracks in a song.
pub const MAX_TRACKS: usize = 64;
/// Most note columns in one track.
pub const MAX_NOTE_COLUMNS: usize = 8;
/// Most effect columns in one track.
pub const MAX_EFFECT_COLUMNS: usize = 4;
/// Most rows in one pattern.
pub const MAX_ROWS: usize = 512;
/// Most patterns in a song.
pub const MAX_PATTERNS: usize = 256;
/// Most entries in the order list.
pub const MAX_ORDER: usize = 1024;
/// Most instrument slots (cells address them as 01..FF).
pub const MAX_INSTRUMENTS: usize = 255;
/// Most sample values (frames × channels) in one sample: 64 Mi values, 256 MiB of f32.
pub const MAX_SAMPLE_VALUES: u64 = 1 << 26;
/// Most channels a stored sample keeps (more are mixed down to stereo on load).
pub const MAX_SAMPLE_CHANNELS: u16 = 2;
/// Most sample values in a whole song (all samples together): 512 MiB of f32.
pub const MAX_TOTAL_SAMPLE_VALUES: u64 = 1 << 27;
/// Lowest and highest tempo in beats per minute.
pub const BPM_RANGE: (u16, u16) = (20, 999);
/// Lowest and highest lines per beat.
pub const LPB_RANGE: (u8, u8) = (1, 64);
/// Lowest and highest ticks per line.
pub const TPL_RANGE: (u8, u8) = (1, 31);
/// Most bytes of a song title or a name.
pub const MAX_NAME_BYTES: usize = 256;
/// Lowest and highest output sample rates the engine accepts.
pub const RATE_RANGE: (u32, u32) = (8_000, 192_000);
/// Voices the engine preallocates; a new note steals the quietest voice when all are busy.
pub const MAX_VOICES: usize = 256;
